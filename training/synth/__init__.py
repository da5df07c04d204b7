"""SynthSeg-style synthetic T1 generator (see README.md)."""
from .generator import CROP, HEAD, Sample, SynthConfig, synthesise
from .labels import (LEFT_HIPPOCAMPUS, RIGHT_HIPPOCAMPUS, LabelMap, Priors, crop_label_map, group_masks,
                     label_map_paths, load_label_map, load_priors, structure_centroid)

__all__ = ['CROP', 'HEAD', 'Sample', 'SynthConfig', 'synthesise', 'LEFT_HIPPOCAMPUS', 'RIGHT_HIPPOCAMPUS',
           'LabelMap', 'Priors', 'crop_label_map', 'group_masks', 'label_map_paths', 'load_label_map',
           'load_priors', 'structure_centroid']

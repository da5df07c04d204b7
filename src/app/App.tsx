import { useEffect, useMemo, useRef, useState } from 'react';
import type { ModelManifest } from '../infer/manifest';
import { Header } from './components/Header';
import { SidePanel } from './components/SidePanel';
import { ViewerPane } from './components/ViewerPane';
import { droppedFiles } from './files';
import type { Finetune } from './finetune/finetune';
import { FinetuneDock } from './finetune/FinetunePanel';
import { useFinetune } from './finetune/store';
import type { SamTool } from './sam/sam-tool';
import type { Studio } from './studio';
import type { ScanViewer } from './viewer';

export function App({
  studio,
  viewer,
  models: installed,
  finetune,
  samTool,
}: {
  studio: Studio;
  viewer: ScanViewer;
  models: readonly ModelManifest[];
  finetune: Finetune;
  samTool: SamTool;
}) {
  const dragging = useWindowDrop((files, droppedAt) => void studio.openFiles(files, undefined, { at: droppedAt, by: 'drop' }));
  // Adapted models from the Fine-tune panel are selectable like the installed ones.
  const adapted = useFinetune((s) => s.adaptedModels);
  const models = useMemo(() => [...installed, ...adapted], [installed, adapted]);
  return (
    <div className="app">
      <Header studio={studio} models={models} />
      <main className="main">
        <ViewerPane viewer={viewer} studio={studio} />
        <SidePanel studio={studio} models={models} samTool={samTool} />
        <FinetuneDock finetune={finetune} />
      </main>
      <footer className="footer">
        Runs entirely in this page: scans and masks stay on this computer. Not a medical device.
      </footer>
      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          <div>Drop to open</div>
        </div>
      )}
    </div>
  );
}

/**
 * Files dropped anywhere on the page (folders included), with the drop's time (page clock,
 * ms: the user's wait starts there); returns whether a drag is over it.
 */
function useWindowDrop(onFiles: (files: File[], droppedAt: number) => void): boolean {
  const [dragging, setDragging] = useState(false);
  const handler = useRef(onFiles);
  handler.current = onFiles;
  useEffect(() => {
    let depth = 0; // dragenter/dragleave fire for every child element crossed
    const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      setDragging(true);
    };
    const over = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault(); // allows the drop
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      depth = 0;
      setDragging(false);
      if (e.dataTransfer) void droppedFiles(e.dataTransfer).then((files) => handler.current(files, e.timeStamp));
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, []);
  return dragging;
}

# Seahorse's BIDS App in a container (BIDS Apps convention: the entry point takes
# <bids_dir> <output_dir> participant|group [options]).
#
#   docker build -t seahorse .
#   docker run --rm -v /data/cohort:/data:ro -v /data/out:/out seahorse /data /out participant --participant-label 01
#   docker run --rm -v /data/cohort:/data:ro -v /data/out:/out seahorse /data /out group
#
# The shipped models (models/*.onnx + manifests) and the registration template
# (models/templates) are part of the image; nothing is downloaded at run time.
# CPU only (onnxruntime-node); about 0.4 GB of memory per scan being segmented.
#
# UNBUILT: the development machine has no Docker daemon, so this file has never been built or
# run; it was checked by reading against the package layout (entry bin/seahorse.mjs runs the CLI
# bundle built below, else src/cli/main.ts through tsx, a runtime dependency; package.json gives the
# version; models/ holds the shipped ONNX, manifests and templates/). Treat the first build as its
# first test.
FROM node:20-bookworm-slim

WORKDIR /opt/seahorse
# onnxruntime-node's CPU binaries ship in its npm package; skip the optional GPU download.
# (No NODE_ENV=production: npm ci would leave out onnxruntime-node, a dev dependency.)
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

COPY package.json package-lock.json ./
# npm ci runs the `prepare` script (the CLI bundle); without src/ yet it only says so.
COPY scripts/build-cli.mjs ./scripts/build-cli.mjs
# Dev dependencies included: the CLI runs on onnxruntime-node (a dev dependency of the studio).
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY src ./src
COPY models ./models
COPY workflow ./workflow
COPY tsconfig.json ./

# The CLI bundle (bin/seahorse.mjs falls back to tsx without it): ~1.5 s less start-up per process.
RUN node scripts/build-cli.mjs \
 && ln -s /opt/seahorse/bin/seahorse.mjs /usr/local/bin/seahorse \
 && node bin/seahorse.mjs bids --help > /dev/null

USER node
ENTRYPOINT ["node", "/opt/seahorse/bin/seahorse.mjs", "bids"]

#!/bin/sh
# The renderers of /docs and /docs/events from their pinned npm packages (package-lock.json here) into
# ../vendor/, which the gateway serves (gateway/docs_pages.py). Run by `make docs-assets` and the Dockerfile.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
vendor="$here/../vendor"
npm ci --prefix "$here" --no-audit --no-fund --ignore-scripts --loglevel=error
rm -rf "$vendor"
mkdir -p "$vendor/swagger-ui" "$vendor/asyncapi"
swagger="$here/node_modules/swagger-ui-dist"
asyncapi="$here/node_modules/@asyncapi/react-component"
cp "$swagger/swagger-ui-bundle.js" "$swagger/swagger-ui.css" "$swagger/LICENSE" "$vendor/swagger-ui/"
cp "$asyncapi/browser/standalone/index.js" "$asyncapi/browser/standalone/index.js.LICENSE.txt" \
   "$asyncapi/styles/default.min.css" "$asyncapi/LICENSE" "$vendor/asyncapi/"
touch "$vendor/.installed"

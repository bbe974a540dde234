#!/usr/bin/env bash
# CI: the package as a user gets it. Packs the tarball (`prepare` builds dist/), checks that it
# holds dist/, bin/, README and LICENSE only, installs it into an empty scratch project with
# --omit=dev, imports it, and runs the command: --help, run on the demo plan, explain --format html.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
name=$(node -p "require('./package.json').name")

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "ci: npm pack ($name)"
tarball=$(npm pack --silent --pack-destination "$scratch" | tail -n 1)
tar -tzf "$scratch/$tarball" | sed 's#^package/##' | sort > "$scratch/files"
unexpected=$(grep -vE '^(dist/(src|machines)/.+\.(js|d\.ts)|bin/tributary\.js|README\.md|LICENSE|package\.json)$' "$scratch/files" || true)
if [ -n "$unexpected" ]; then
  echo "ci: the tarball holds files it should not:" >&2
  echo "$unexpected" >&2
  exit 1
fi
for required in dist/src/index.js dist/src/index.d.ts dist/src/cli/main.js bin/tributary.js README.md LICENSE; do
  grep -qx "$required" "$scratch/files" || { echo "ci: the tarball lacks $required" >&2; exit 1; }
done
echo "ci: $tarball holds $(wc -l < "$scratch/files") files"

app="$scratch/app"
mkdir "$app"
cp examples/demo-plan.json examples/demo-sources.json "$app/"
cd "$app"
printf '{ "name": "scratch-app", "private": true, "type": "module" }\n' > package.json
# Dependencies come from the local npm cache when it has them (the checkout's `npm ci` filled
# it); the registry is asked only for what is missing. better-sqlite3's prebuilt binary lives on
# GitHub, out of this runner's reach, so it would compile from source (minutes): hand
# prebuild-install the binary the checkout's own install produced, through its documented
# local-prebuilds directory (same version, same Node ABI).
binary="$repo/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
prebuilds=""
if [ -f "$binary" ]; then
  prebuilds="$scratch/prebuilds"
  mkdir -p "$prebuilds/stage/build/Release"
  cp "$binary" "$prebuilds/stage/build/Release/"
  asset=$(cd "$repo" && node -p "const p = require('better-sqlite3/package.json'); \`\${p.name}-v\${p.version}-node-v\${process.versions.modules}-\${process.platform}-\${process.arch}.tar.gz\`")
  tar -czf "$prebuilds/$asset" -C "$prebuilds/stage" build
fi
npm_config_better_sqlite3_local_prebuilds="$prebuilds" npm install --omit=dev --prefer-offline --no-audit --no-fund "$scratch/$tarball"
if [ -d node_modules/typescript ] || [ -d node_modules/vitest ] || [ -d node_modules/tsx ]; then
  echo "ci: --omit=dev installed a dev dependency" >&2
  exit 1
fi

node --input-type=module -e "
  import { createExecutor, memorySource, plan, explain, createLiveView } from '$name';
  const executor = createExecutor({ sources: { ref: memorySource({ tables: { t: [{ a: 1 }, { a: 2 }] } }) } });
  const p = plan('smoke').fragment('t', 'ref', { table: 't' }).build();
  const view = await createLiveView(executor);
  const result = await view.watch(executor.run(p), p).result;
  if (result.status !== 'ok' || result.rows.length !== 2) throw new Error('unexpected result ' + JSON.stringify(result.rows));
  if (!explain(p).html().includes('data-fragment=\"t\"')) throw new Error('explain().html() lacks the fragment');
  await view.close();
  await executor.close();
  console.log('ci: import { createExecutor } from \"$name\" works');
"
node -e "
  const { createExecutor } = require('$name');
  if (typeof createExecutor !== 'function') process.exit(1);
  console.log('ci: require(\"$name\") works too (Node loads the ES module synchronously)');
"
npx --no-install tributary --help > help.txt
grep -q 'Usage: tributary' help.txt
npx --no-install tributary-query --version
npx --no-install tributary run demo-plan.json --sources demo-sources.json --quiet --format json > rows.json
node -e "const rows = require('./rows.json'); if (!Array.isArray(rows) || rows.length === 0) process.exit(1); console.log('ci: run printed', rows.length, 'rows')"
npx --no-install tributary explain demo-plan.json --sources demo-sources.json --format html > plan.html
for id in customers orders regions; do grep -q "data-fragment=\"$id\"" plan.html || { echo "ci: explain --format html lacks $id" >&2; exit 1; }; done
if grep -oE '(https?:)?//[^ "<>]+' plan.html | grep -v '^http://www.w3.org/2000/svg$'; then
  echo "ci: explain --format html refers to something outside the page" >&2
  exit 1
fi
echo "ci: the installed package works ($(du -sh node_modules/$name | cut -f1) installed)"
cd "$repo"

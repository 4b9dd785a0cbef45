/**
 * Loads the compiled addon: a prebuild for this platform when one ships in prebuilds/,
 * else the local cmake-js build in build/Release. (Internal to the package.)
 */
import * as path from 'node:path';
import type { NativeBinding } from '../../binding';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load: (dir: string) => unknown = require('node-gyp-build');

function loadBinding(): NativeBinding {
  const root = path.join(__dirname, '..', '..');
  try {
    return load(root) as NativeBinding;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `rnn-native: the native addon could not be loaded (${reason}). ` +
        'Build it with `npm run build:native` (needs cmake, g++ and libopenblas-dev: ' +
        '`sudo apt-get install -y cmake g++ libopenblas-dev` on Debian/Ubuntu).',
    );
  }
}

export const native: NativeBinding = loadBinding();

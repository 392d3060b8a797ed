/**
 * The version of adsync: the one place it is written. `--version`, the `--json` summaries and
 * the User-Agent of every platform request read it from here.
 */

/** adsync's version, semver. */
export const VERSION = "0.9.0";

/** The `User-Agent` header of every request to the platform: `adsync/X.Y.Z`. */
export const USER_AGENT = `adsync/${VERSION}`;

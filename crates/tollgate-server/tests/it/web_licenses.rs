//! Dashboard tests: see the helper's brief.

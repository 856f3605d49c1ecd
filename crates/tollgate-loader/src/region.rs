//! The loader's own configuration region (see `tollgate_core::loader_config`).
//!
//! The builder finds the region in the executable by its marker and writes the configuration
//! after it. The static must therefore survive linking (`#[used]`, `#[no_mangle]`) and must not
//! be read as the constant the compiler sees: that would fold the read into "unconfigured" and
//! ignore what the builder wrote. The read goes through a pointer the optimiser cannot see
//! through.

use tollgate_core::loader_config::{self, LoaderConfig, RegionError, REGION_LEN};

#[used]
#[no_mangle]
static TOLLGATE_LOADER_CONFIG: [u8; REGION_LEN] = loader_config::empty_region();

/// The embedded configuration; `None` in a template nobody configured.
pub fn embedded() -> Result<Option<LoaderConfig>, RegionError> {
    let ptr = std::hint::black_box(TOLLGATE_LOADER_CONFIG.as_ptr());
    let mut copy = vec![0u8; REGION_LEN];
    for (i, byte) in copy.iter_mut().enumerate() {
        // SAFETY: `ptr` points at the static's REGION_LEN bytes, which live for the program.
        *byte = unsafe { std::ptr::read_volatile(ptr.add(i)) };
    }
    loader_config::read(&copy)
}

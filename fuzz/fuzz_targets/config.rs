//! Configuration loading on arbitrary text: never panics, and every error names a
//! line that exists in the text.
#![no_main]

use carbon_core::config::{Config, Origin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count();
    if let Err(errors) = Config::from_text(text) {
        assert!(!errors.is_empty(), "failure without an error");
        for e in &errors {
            if let Origin::File {
                line: Some(line), ..
            } = e.origin
            {
                assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
            }
        }
    }
});

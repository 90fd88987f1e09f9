//! Arbitrary bytes as a response: every generated response type through the
//! crate's decoder, and the error-body path. Any panic is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    clerk_machines::fuzzing::decode_response(data);
});

//! Policy documents arrive from clients as arbitrary text: parsing must never panic, whatever
//! the bytes and whichever rules apply.

#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_policy::{non_whitespace_len, parse, PolicyKind};

const KINDS: [PolicyKind; 5] = [
    PolicyKind::Identity,
    PolicyKind::Trust,
    PolicyKind::Resource,
    PolicyKind::ServiceControl,
    PolicyKind::Session,
];

fuzz_target!(|data: &[u8]| {
    let Ok(document) = std::str::from_utf8(data) else {
        return;
    };
    let _ = non_whitespace_len(document);
    for kind in KINDS {
        if let Ok(policy) = parse(document, kind) {
            // Exercise the compiled matchers on the input too.
            for statement in &policy.statements {
                let _ = statement.action.applies_to(document);
                if let Some(resource) = &statement.resource {
                    let _ = resource.applies_to(document, |_| Some(document));
                }
            }
        }
    }
});

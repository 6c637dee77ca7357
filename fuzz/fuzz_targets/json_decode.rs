//! Arbitrary JSON 1.1 bodies through the JSON decoder and validator, for KMS input shapes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use moat_wire::{json, ServiceModel};

fn model() -> &'static ServiceModel {
    static MODEL: OnceLock<ServiceModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        ServiceModel::from_json(include_str!("../../models/kms/service-2.json"))
            .unwrap_or_else(|e| panic!("KMS model: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let model = model();
    // The first byte picks the operation, the rest is the body.
    let Some((pick, body)) = data.split_first() else { return };
    let mut ops: Vec<&String> = model.operations.keys().collect();
    ops.sort();
    let Some(op) = ops.get(usize::from(*pick) % ops.len().max(1)) else { return };
    if let Some(shape) = model.operation(op).and_then(|o| o.input.as_deref()) {
        let _ = json::decode_input(model, shape, body);
    }
});

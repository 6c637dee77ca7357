//! Arbitrary form bodies through the query-protocol decoder and validator, for every IAM
//! operation's input shape.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use moat_wire::{query, ServiceModel};

fn model() -> &'static ServiceModel {
    static MODEL: OnceLock<ServiceModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        ServiceModel::from_json(include_str!("../../models/iam/service-2.json"))
            .unwrap_or_else(|e| panic!("IAM model: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let params = query::parse_form(data);
    let model = model();
    let Some(action) = params.get("Action") else { return };
    if let Some(shape) = model.operation(action).and_then(|o| o.input.as_deref()) {
        let _ = query::decode_input(model, shape, &params);
    }
});

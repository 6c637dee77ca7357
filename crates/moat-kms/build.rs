//! Generates the KMS shapes from the botocore model for the operations Moat serves.

use std::path::PathBuf;

include!("src/operations.rs");

fn main() {
    let model = "../../models/kms/service-2.json";
    println!("cargo:rerun-if-changed={model}");
    println!("cargo:rerun-if-changed=src/operations.rs");
    let code = match moat_codegen::generate(model, OPERATIONS) {
        Ok(code) => code,
        Err(e) => {
            println!("cargo:warning=KMS code generation failed: {e}");
            std::process::exit(1);
        }
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    if let Err(e) = std::fs::write(out.join("kms_types.rs"), code) {
        println!("cargo:warning=cannot write generated KMS types: {e}");
        std::process::exit(1);
    }
}

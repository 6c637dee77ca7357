//! Generates the STS shapes from the botocore model for the operations Moat serves.

use std::path::PathBuf;

include!("src/operations.rs");

fn main() {
    let model = "../../models/sts/service-2.json";
    println!("cargo:rerun-if-changed={model}");
    println!("cargo:rerun-if-changed=src/operations.rs");
    let code = match moat_codegen::generate(model, OPERATIONS) {
        Ok(code) => code,
        Err(e) => {
            println!("cargo:warning=STS code generation failed: {e}");
            std::process::exit(1);
        }
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    if let Err(e) = std::fs::write(out.join("sts_types.rs"), code) {
        println!("cargo:warning=cannot write generated STS types: {e}");
        std::process::exit(1);
    }
}

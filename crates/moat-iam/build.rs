//! Generates the IAM shapes from the botocore model for the operations Moat serves.

use std::path::PathBuf;

include!("src/operations.rs");

fn main() {
    let model = "../../models/iam/service-2.json";
    println!("cargo:rerun-if-changed={model}");
    println!("cargo:rerun-if-changed=src/operations.rs");
    let served = std::fs::read_to_string(model)
        .map_err(|e| e.to_string())
        .and_then(|text| served_model(&text).map_err(|e| e.to_string()));
    let served = match served {
        Ok(text) => text,
        Err(e) => {
            println!("cargo:warning=cannot read the IAM model: {e}");
            std::process::exit(1);
        }
    };
    let code = match moat_codegen::generate_from_str(&served, OPERATIONS) {
        Ok(code) => code,
        Err(e) => {
            println!("cargo:warning=IAM code generation failed: {e}");
            std::process::exit(1);
        }
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    if let Err(e) = std::fs::write(out.join("iam_types.rs"), code) {
        println!("cargo:warning=cannot write generated IAM types: {e}");
        std::process::exit(1);
    }
}

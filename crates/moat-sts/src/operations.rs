/// The STS operations Moat serves. Adding one here generates its types; the compiler then
/// demands its declaration and behaviour in `lib.rs`.
pub const OPERATIONS: &[&str] = &[
    "GetCallerIdentity",
    "GetSessionToken",
    "AssumeRole",
    "GetAccessKeyInfo",
    "DecodeAuthorizationMessage",
    "AssumeRoleWithWebIdentity",
];

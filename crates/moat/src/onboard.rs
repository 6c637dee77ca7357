//! `moat onboard ...`: AWS's recommended first steps for a new account, from the terminal,
//! against a running server: protect the root user with MFA, create an administrator IAM
//! user, and stop using root.

use std::io::{BufRead as _, Write as _};

use anyhow::{bail, Context as _};
use base64::Engine as _;
use rand::Rng as _;
use zeroize::Zeroizing;

use crate::client::{element, Client};
use crate::config::{OnboardAdminArgs, OnboardConnection, OnboardRootMfaArgs};

const IAM_VERSION: &str = "2010-05-08";
const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

fn connect(c: &OnboardConnection) -> anyhow::Result<Client> {
    Client::new(&c.endpoint, &c.region, &c.data_dir)
}

fn iam(client: &Client, action: &str, params: &[(&str, &str)]) -> anyhow::Result<String> {
    client
        .call("iam", IAM_VERSION, action, params)?
        .with_context(|| format!("{action} failed"))
}

/// `moat onboard admin`: an IAM user in an administrators group with AdministratorAccess, a
/// console password and optionally an access key, then a ready aws CLI profile.
pub fn admin(args: OnboardAdminArgs) -> anyhow::Result<()> {
    let client = connect(&args.connection)?;
    let group = args.group.as_str();
    let user = args.user_name.as_str();

    match client.call("iam", IAM_VERSION, "CreateGroup", &[("GroupName", group)])? {
        Ok(_) => println!("Created group {group}."),
        Err(e) if e.code == "EntityAlreadyExists" => println!("Group {group} already exists."),
        Err(e) => return Err(e).context("CreateGroup failed"),
    }
    iam(
        &client,
        "AttachGroupPolicy",
        &[("GroupName", group), ("PolicyArn", ADMINISTRATOR_ACCESS)],
    )?;
    println!("Attached AdministratorAccess to {group}.");
    let created = iam(&client, "CreateUser", &[("UserName", user)])?;
    let arn = element(&created, "Arn").unwrap_or_default();
    println!("Created user {arn}.");
    iam(
        &client,
        "AddUserToGroup",
        &[("GroupName", group), ("UserName", user)],
    )?;
    println!("Added {user} to {group}.");

    let password = match &args.password_file {
        Some(path) => Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
        ),
        None => generated_password(),
    };
    iam(
        &client,
        "CreateLoginProfile",
        &[
            ("UserName", user),
            ("Password", &password),
            (
                "PasswordResetRequired",
                if args.password_file.is_some() {
                    "false"
                } else {
                    "true"
                },
            ),
        ],
    )?;
    let mut out = std::io::stdout().lock();
    if args.password_file.is_none() {
        writeln!(
            out,
            "Console password for {user} (shown once; to be changed at first sign-in): {}",
            password.as_str()
        )?;
    } else {
        writeln!(out, "Set the console password of {user} from the file.")?;
    }

    if args.access_key {
        let key = iam(&client, "CreateAccessKey", &[("UserName", user)])?;
        let id = element(&key, "AccessKeyId").unwrap_or_default();
        let secret = Zeroizing::new(element(&key, "SecretAccessKey").unwrap_or_default());
        let profile = &args.profile;
        writeln!(
            out,
            "\nAdd to ~/.aws/config:\n\n[profile {profile}]\nregion = {}\nendpoint_url = {}\n\n\
             Add to ~/.aws/credentials (the secret is shown once):\n\n[{profile}]\n\
             aws_access_key_id = {id}\naws_secret_access_key = {}\n\n\
             Then: aws --profile {profile} sts get-caller-identity\n\
             From now on, use this profile instead of the root credentials.",
            client.region(),
            client.endpoint(),
            secret.as_str()
        )?;
    }
    Ok(())
}

/// 20 characters with every class IAM's strictest password policy asks for.
fn generated_password() -> Zeroizing<String> {
    const CLASSES: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnopqrstuvwxyz",
        b"23456789",
        b"!@#$%^&*()-_=+[]{}",
    ];
    let any: Vec<u8> = CLASSES.concat();
    let mut rng = rand::thread_rng();
    let mut chars: Vec<u8> = Vec::with_capacity(20);
    for i in 0..20 {
        // One of each class first, then any; shuffled below.
        let pool: &[u8] = match CLASSES.get(i) {
            Some(class) => class,
            None => &any,
        };
        let c = pool
            .get(rng.gen_range(0..pool.len()))
            .copied()
            .unwrap_or(b'x');
        chars.push(c);
    }
    for i in (1..chars.len()).rev() {
        chars.swap(i, rng.gen_range(0..=i));
    }
    Zeroizing::new(String::from_utf8(chars).unwrap_or_default())
}

/// `moat onboard root-mfa`: a virtual MFA device for the account's root user, shown as a QR
/// code in the terminal and as its seed, enabled with two consecutive codes.
pub fn root_mfa(args: OnboardRootMfaArgs) -> anyhow::Result<()> {
    let client = connect(&args.connection)?;
    let identity = client
        .call("sts", "2011-06-15", "GetCallerIdentity", &[])?
        .context("GetCallerIdentity failed")?;
    let caller = element(&identity, "Arn").unwrap_or_default();
    let account = element(&identity, "Account").unwrap_or_default();
    if !caller.ends_with(":root") {
        bail!("these credentials belong to {caller}; root-mfa needs the account's root user");
    }
    let created = iam(
        &client,
        "CreateVirtualMFADevice",
        &[("VirtualMFADeviceName", args.device_name.as_str())],
    )?;
    let serial = element(&created, "SerialNumber").unwrap_or_default();
    // A blob on the wire: the base32 seed's bytes, base64-encoded.
    let wire = Zeroizing::new(element(&created, "Base32StringSeed").unwrap_or_default());
    let seed = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(wire.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_default(),
    );
    if seed.is_empty() {
        bail!("the server returned no seed for {serial}");
    }
    let uri = Zeroizing::new(format!(
        "otpauth://totp/Moat:root@{account}?secret={}&issuer=Moat",
        seed.as_str()
    ));
    let qr = qrcode::QrCode::new(uri.as_bytes()).context("cannot draw the QR code")?;
    let picture = qr
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Scan this with an authenticator app (or enter the key by hand):\n\n{picture}\n\
         Key: {}\nDevice: {serial}\n",
        seed.as_str()
    )?;
    let first = read_code(&mut out, "First code from the app: ")?;
    let second = read_code(&mut out, "Next code (wait for it to change): ")?;
    match client.call(
        "iam",
        IAM_VERSION,
        "EnableMFADevice",
        &[
            ("SerialNumber", serial.as_str()),
            ("AuthenticationCode1", first.as_str()),
            ("AuthenticationCode2", second.as_str()),
        ],
    )? {
        Ok(_) => {
            writeln!(
                out,
                "MFA is on for the root user of account {account} ({serial})."
            )?;
            Ok(())
        }
        Err(e) => {
            // Leave no half-made device behind: it can be made again from scratch.
            let _ = client.call(
                "iam",
                IAM_VERSION,
                "DeleteVirtualMFADevice",
                &[("SerialNumber", serial.as_str())],
            );
            Err(e).context("the codes were not accepted; run the command again")
        }
    }
}

fn read_code(out: &mut impl std::io::Write, prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    write!(out, "{prompt}")?;
    out.flush()?;
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the code")?;
    let code = Zeroizing::new(line.trim().to_owned());
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        bail!("a code is six digits");
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_have_every_class() {
        for _ in 0..50 {
            let p = generated_password();
            assert_eq!(p.len(), 20);
            assert!(p.bytes().any(|b| b.is_ascii_uppercase()));
            assert!(p.bytes().any(|b| b.is_ascii_lowercase()));
            assert!(p.bytes().any(|b| b.is_ascii_digit()));
            assert!(p.bytes().any(|b| !b.is_ascii_alphanumeric()));
        }
    }
}

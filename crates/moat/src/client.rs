//! A small SigV4-signing client for the `moat onboard` commands, which drive a running server
//! through its AWS API exactly as the aws CLI would.

use std::path::Path;

use anyhow::{bail, Context as _};
use zeroize::Zeroizing;

/// Where the server is and who calls it.
pub struct Client {
    endpoint: String,
    host: String,
    region: String,
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
    agent: ureq::Agent,
}

/// An AWS error answer.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl Client {
    /// Credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`),
    /// else the root credentials a first start wrote to `<data-dir>/root-credentials`.
    pub fn new(endpoint: &str, region: &str, data_dir: &Path) -> anyhow::Result<Client> {
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let host = endpoint
            .strip_prefix("http://")
            .or_else(|| endpoint.strip_prefix("https://"))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_owned())
            .filter(|h| !h.is_empty())
            .with_context(|| {
                format!("endpoint `{endpoint}` must start with http:// or https://")
            })?;
        let (access_key_id, secret_access_key, session_token) = match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(id), Ok(secret)) if !id.is_empty() && !secret.is_empty() => (
                id,
                Zeroizing::new(secret),
                std::env::var("AWS_SESSION_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty())
                    .map(Zeroizing::new),
            ),
            _ => {
                let (id, secret) = read_root_credentials(data_dir)?;
                (id, secret, None)
            }
        };
        Ok(Client {
            endpoint,
            host,
            region: region.to_owned(),
            access_key_id,
            secret_access_key,
            session_token,
            agent: ureq::AgentBuilder::new()
                .timeout(std::time::Duration::from_secs(30))
                .build(),
        })
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// One query-protocol call; the XML body of a success, or the AWS error.
    pub fn call(
        &self,
        service: &str,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> anyhow::Result<Result<String, ApiError>> {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", action)
            .append_pair("Version", version)
            .extend_pairs(params)
            .finish();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::HOST,
            http::HeaderValue::from_str(&self.host).context("endpoint host")?,
        );
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        let signing = moat_sigv4::SigningParams {
            access_key_id: &self.access_key_id,
            secret_access_key: &self.secret_access_key,
            session_token: self.session_token.as_deref().map(String::as_str),
            region: &self.region,
            service,
            time: time::OffsetDateTime::now_utc(),
            payload: moat_sigv4::PayloadSigning::Hash,
        };
        moat_sigv4::sign_request("POST", "/", "", &mut headers, body.as_bytes(), &signing)
            .map_err(|e| anyhow::anyhow!("cannot sign the request: {e}"))?;
        let mut request = self.agent.post(&format!("{}/", self.endpoint));
        for (name, value) in &headers {
            if name == http::header::HOST {
                continue;
            }
            if let Ok(value) = value.to_str() {
                request = request.set(name.as_str(), value);
            }
        }
        match request.send_string(&body) {
            Ok(response) => Ok(Ok(response
                .into_string()
                .context("cannot read the server's answer")?)),
            Err(ureq::Error::Status(_, response)) => {
                let text = response.into_string().unwrap_or_default();
                Ok(Err(ApiError {
                    code: element(&text, "Code").unwrap_or_else(|| "UnknownError".to_owned()),
                    message: element(&text, "Message").unwrap_or_default(),
                }))
            }
            Err(e) => bail!("cannot reach Moat at {}: {e}", self.endpoint),
        }
    }
}

/// The text of the first element named `name` in an XML document, unescaped.
pub fn element(xml: &str, name: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Start(e) if e.local_name().as_ref() == name.as_bytes() => {
                inside = true;
            }
            quick_xml::events::Event::Text(t) if inside => {
                return t.unescape().ok().map(|s| s.into_owned());
            }
            quick_xml::events::Event::End(_) if inside => return Some(String::new()),
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

/// The root access key in `<data-dir>/root-credentials` (an AWS credentials profile).
fn read_root_credentials(data_dir: &Path) -> anyhow::Result<(String, Zeroizing<String>)> {
    let path = data_dir.join("root-credentials");
    let text = Zeroizing::new(std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give the \
             server's --data-dir so `{}` can be read",
            path.display()
        )
    })?);
    let value = |key: &str| {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_owned())
    };
    match (value("aws_access_key_id"), value("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok((id, Zeroizing::new(secret))),
        _ => bail!("`{}` holds no access key", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_found_and_unescaped() {
        let xml = "<R><A><Code>NoSuchEntity</Code><Message>a &amp; b</Message></A></R>";
        assert_eq!(element(xml, "Code").as_deref(), Some("NoSuchEntity"));
        assert_eq!(element(xml, "Message").as_deref(), Some("a & b"));
        assert_eq!(element(xml, "Missing"), None);
        assert_eq!(element("<R><E></E></R>", "E").as_deref(), Some(""));
    }
}

//! IAM on the shared endpoint.

use moat_iam::{Call, Iam, Prepared};
use moat_types::Principal;
use moat_wire::{ErrorResponse, Output, ServiceModel};
use serde_json::Value;

use crate::service::{answer, invalid_input, CallContext, PreparedCall, Service, Target};

pub struct IamService {
    pub iam: Iam,
}

impl Service for IamService {
    fn signing_name(&self) -> &'static str {
        "iam"
    }

    fn model(&self) -> &'static ServiceModel {
        moat_iam::model()
    }

    fn prepare(
        &self,
        operation: &str,
        input: Value,
    ) -> Result<Option<Box<dyn PreparedCall>>, ErrorResponse> {
        match moat_iam::Request::from_value(operation, input) {
            None => Ok(None),
            Some(Err(e)) => Err(invalid_input(&e)),
            Some(Ok(request)) => Ok(Some(Box::new(IamCall {
                iam: self.iam.clone(),
                prepared: Iam::prepare(request),
            }))),
        }
    }
}

struct IamCall {
    iam: Iam,
    prepared: Prepared,
}

impl PreparedCall for IamCall {
    fn operation(&self) -> &'static str {
        self.prepared.operation
    }

    fn action(&self) -> String {
        self.prepared.action()
    }

    fn read_only(&self) -> bool {
        self.prepared.read_only()
    }

    fn target(&self, principal: &Principal) -> Result<Target, ErrorResponse> {
        self.iam
            .target(principal, &self.prepared)
            .map_err(|e| ErrorResponse::from_error(&e))
    }

    fn execute(
        self: Box<Self>,
        ctx: &CallContext<'_>,
    ) -> Result<Option<Box<dyn Output>>, ErrorResponse> {
        let IamCall { iam, prepared } = *self;
        let call = Call {
            account: ctx.principal.account,
            principal: ctx.principal,
            now: ctx.now,
            root_key: iam.store().root_key(),
            allow_insecure_oidc_loopback: iam.allows_insecure_oidc_loopback(),
        };
        answer(
            "iam",
            ctx.request_id,
            iam.execute(prepared, &call)
                .map(|response| response.into_output()),
        )
    }
}

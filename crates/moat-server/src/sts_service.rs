//! STS on the shared endpoint.

use moat_sts::{Call, Prepared, Sts};
use moat_types::Principal;
use moat_wire::{ErrorResponse, Output, ServiceModel};
use serde_json::Value;

use crate::service::{answer, invalid_input, CallContext, PreparedCall, Service, Target};

pub struct StsService {
    pub sts: Sts,
}

impl Service for StsService {
    fn signing_name(&self) -> &'static str {
        "sts"
    }

    fn model(&self) -> &'static ServiceModel {
        moat_sts::model()
    }

    fn prepare(
        &self,
        operation: &str,
        input: Value,
    ) -> Result<Option<Box<dyn PreparedCall>>, ErrorResponse> {
        match moat_sts::Request::from_value(operation, input) {
            None => Ok(None),
            Some(Err(e)) => Err(invalid_input(&e)),
            Some(Ok(request)) => Ok(Some(Box::new(StsCall {
                sts: self.sts.clone(),
                prepared: Sts::prepare(request),
            }))),
        }
    }
}

struct StsCall {
    sts: Sts,
    prepared: Prepared,
}

impl PreparedCall for StsCall {
    fn operation(&self) -> &'static str {
        self.prepared.operation
    }

    fn action(&self) -> String {
        self.prepared.action()
    }

    fn read_only(&self) -> bool {
        // STS changes no IAM state; a code's one-time use is recorded by the MFA check itself.
        true
    }

    fn needs_authorization(&self) -> bool {
        self.prepared.needs_authorization
    }

    fn audits_output(&self) -> bool {
        matches!(self.prepared.operation, "AssumeRole" | "GetSessionToken")
    }

    fn extra_actions(&self) -> Vec<&'static str> {
        self.prepared.extra_actions.clone()
    }

    fn authenticates_by_token(&self) -> bool {
        Sts::authenticates_by_token(&self.prepared)
    }

    fn token_caller(&self) -> Option<Principal> {
        self.sts.token_caller(&self.prepared)
    }

    fn authenticate_token(&self, now: time::OffsetDateTime) -> Result<Principal, ErrorResponse> {
        self.sts
            .authenticate_token(&self.prepared, now)
            .map_err(|e| ErrorResponse::from_error(&e))
    }

    fn target(&self, principal: &Principal) -> Result<Target, ErrorResponse> {
        self.sts
            .target(principal, &self.prepared)
            .map_err(|e| ErrorResponse::from_error(&e))
    }

    fn execute(
        self: Box<Self>,
        ctx: &CallContext<'_>,
    ) -> Result<Option<Box<dyn Output>>, ErrorResponse> {
        let StsCall { sts, prepared } = *self;
        let call = Call {
            principal: ctx.principal,
            now: ctx.now,
        };
        answer(
            "sts",
            ctx.request_id,
            sts.execute(prepared, &call)
                .map(|response| response.into_output()),
        )
    }
}

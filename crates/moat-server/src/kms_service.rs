//! KMS on the shared endpoint.

use moat_kms::{Call, Kms, Prepared};
use moat_types::Principal;
use moat_wire::{ErrorResponse, Output, ServiceModel};
use serde_json::Value;

use crate::service::{answer, invalid_input, CallContext, PreparedCall, Service, Target};

pub struct KmsService {
    pub kms: Kms,
}

impl Service for KmsService {
    fn signing_name(&self) -> &'static str {
        "kms"
    }

    fn model(&self) -> &'static ServiceModel {
        moat_kms::model()
    }

    fn access_denied_status(&self) -> u16 {
        400
    }

    fn prepare(
        &self,
        operation: &str,
        input: Value,
    ) -> Result<Option<Box<dyn PreparedCall>>, ErrorResponse> {
        match moat_kms::Request::from_value(operation, input) {
            None => Ok(None),
            Some(Err(e)) => Err(invalid_input(&e)),
            Some(Ok(request)) => Ok(Some(Box::new(KmsCall {
                kms: self.kms.clone(),
                prepared: Kms::prepare(request),
            }))),
        }
    }
}

struct KmsCall {
    kms: Kms,
    prepared: Prepared,
}

impl PreparedCall for KmsCall {
    fn operation(&self) -> &'static str {
        self.prepared.operation
    }

    fn action(&self) -> String {
        self.prepared.action()
    }

    fn read_only(&self) -> bool {
        self.prepared.read_only
    }

    fn needs_authorization(&self) -> bool {
        Kms::needs_authorization(&self.prepared)
    }

    fn root_needs_resource_policy(&self) -> bool {
        true
    }

    fn target(&self, principal: &Principal) -> Result<Target, ErrorResponse> {
        self.kms
            .target(principal, &self.prepared)
            .map_err(|e| ErrorResponse::from_error(&e))
    }

    fn further_targets(
        &self,
        principal: &Principal,
    ) -> Result<Vec<(&'static str, Target)>, ErrorResponse> {
        self.kms
            .further_targets(principal, &self.prepared)
            .map_err(|e| ErrorResponse::from_error(&e))
    }

    fn execute(
        self: Box<Self>,
        ctx: &CallContext<'_>,
    ) -> Result<Option<Box<dyn Output>>, ErrorResponse> {
        let KmsCall { kms, prepared } = *self;
        let call = Call {
            principal: ctx.principal,
            now: ctx.now,
        };
        answer(
            "kms",
            ctx.request_id,
            kms.execute(prepared, &call)
                .map(|response| response.into_output()),
        )
    }
}

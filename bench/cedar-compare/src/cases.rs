//! The timed cases, each one decision of one engine, built once and checked before timing.
//! Cedar runs each case twice, with IAM's action wildcards written as lists of actions and as
//! action groups (see the crate's documentation).
//!
//! - `{moat,cedar-*}/10_policies`: a user with 10 attached policies (50 statements; 50 Cedar
//!   policies), deciding `iam:GetUser` on a user of its team. Allowed.
//! - `{moat,cedar-*}/1000_policies`: the same user with all 1,000 of the account's policies in
//!   its set (5,000 statements; 5,000 Cedar policies, all scoped to the user). Moat's worst
//!   case: its index by service leaves the IAM statements (three policies in fifteen are about
//!   IAM) and the `Action: "*"` denies (one policy in five) as candidates; Cedar evaluates every
//!   policy.
//! - `moat/account_{1000,100000}_policies`: an account of that many policies and a tenth as
//!   many users, each with 10 policies of its own attached. Moat compiles each principal's set
//!   once and keeps it, as the server does, so a decision is a hash lookup of the principal's
//!   set and then the same work as in `10_policies`: the size of the account must not show.
//!   Requests go to 100 of the users in turn, spread over the account.
//! - `cedar-*/account_1000_policies`: the same account of 1,000 policies as one Cedar policy
//!   set (5,000 policies, each scoped to its user), as a Cedar deployment would hold it, with
//!   requests from the same 100 users in turn. The Cedar authorizer still visits every policy
//!   and builds its condition, but evaluation stops at the principal test for the 99% that
//!   belong to other users. (Not run for 100,000 policies: 500,000 Cedar policies.)

#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "benchmark set-up over fixed data; a failure should stop the run"
)]

use std::collections::HashMap;

use cedar_policy::Authorizer;
use moat_policy::PolicySet;

use crate::{
    check_agreement, get_user, parse_cedar, policy_service, policy_team, CedarActions, Prepared,
    Principal,
};

/// How many users of an account requests come from, in turn.
pub const REQUESTING_USERS: usize = 100;

pub enum Engine {
    Moat,
    Cedar(CedarActions),
}

#[expect(
    clippy::large_enum_variant,
    reason = "a handful of values built once; boxing would add a pointer hop to the timed path"
)]
enum Workload {
    /// One principal's compiled set, used directly.
    Moat { set: PolicySet, request: Prepared },
    /// Every principal's compiled set, found by ARN for each request.
    MoatAccount {
        sets: HashMap<String, PolicySet>,
        requests: Vec<Prepared>,
    },
    Cedar {
        set: cedar_policy::PolicySet,
        authorizer: Authorizer,
        requests: Vec<Prepared>,
    },
}

pub struct Case {
    pub name: &'static str,
    pub engine: Engine,
    /// Statements (Moat) or policies (Cedar) the decision is made over, as a description.
    pub size: String,
    workload: Workload,
}

impl Case {
    /// Decision `i`: the request of user `i` (modulo the users requesting), allowed or not.
    pub fn decide(&self, i: usize) -> bool {
        match &self.workload {
            Workload::Moat { set, request } => request.moat(set),
            Workload::MoatAccount { sets, requests } => {
                let request = &requests[i % requests.len()];
                let set = sets
                    .get(request.principal.arn())
                    .expect("every user has a compiled set");
                request.moat(set)
            }
            Workload::Cedar {
                set,
                authorizer,
                requests,
            } => requests[i % requests.len()].cedar(authorizer, set),
        }
    }
}

/// A user with `policies` attached, and each engine's view of it, checked to agree on the
/// allowed request and on its denial without TLS before anything is timed.
fn single(name: &'static str, policies: &[usize], with_cedar: bool) -> Vec<Case> {
    let alice = Principal::new("alice", "team0", policies);
    let allowed = get_user(&alice, true, CedarActions::Lists);
    let denied = get_user(&alice, false, CedarActions::Lists);
    assert!(allowed.moat(&alice.set), "{name}: moat must allow");
    assert!(
        !denied.moat(&alice.set),
        "{name}: moat must deny without TLS"
    );
    let mut cases = vec![Case {
        name,
        engine: Engine::Moat,
        size: format!("{} statements", alice.set.statement_count()),
        workload: Workload::Moat {
            set: alice.set.clone(),
            request: allowed,
        },
    }];
    let modes = if with_cedar {
        &[CedarActions::Lists, CedarActions::Groups][..]
    } else {
        &[]
    };
    for &mode in modes {
        let cedar = parse_cedar(&alice.cedar_text(mode));
        let authorizer = Authorizer::new();
        let allowed = get_user(&alice, true, mode);
        let denied = get_user(&alice, false, mode);
        assert!(
            allowed.cedar(&authorizer, &cedar),
            "{name}: cedar must allow"
        );
        assert!(
            !denied.cedar(&authorizer, &cedar),
            "{name}: cedar must deny without TLS"
        );
        cases.push(Case {
            name,
            engine: Engine::Cedar(mode),
            size: format!("{} policies", cedar.policies().count()),
            workload: Workload::Cedar {
                set: cedar,
                authorizer,
                requests: vec![allowed],
            },
        });
    }
    cases
}

/// The users of an account of `total` policies: one per ten policies, each with its own ten.
/// Each user's team is that of the first IAM policy it has (every run of ten policies has
/// one), so that its GetUser request is allowed.
fn account_users(total: usize) -> Vec<Vec<usize>> {
    (0..total / 10)
        .map(|u| (u * 10..u * 10 + 10).collect())
        .collect()
}

fn user(u: usize, policies: &[usize]) -> Principal {
    let team = policies
        .iter()
        .find(|&&n| policy_service(n).prefix == "iam")
        .map(|&n| policy_team(n))
        .expect("ten consecutive policies include an IAM one");
    Principal::new(&format!("u{u}"), team, policies)
}

/// The users requests come from: [`REQUESTING_USERS`] of `count`, evenly spread.
fn requesting(count: usize) -> impl Iterator<Item = usize> {
    let step = (count / REQUESTING_USERS).max(1);
    (0..count).step_by(step).take(REQUESTING_USERS)
}

fn moat_account(name: &'static str, total: usize) -> Case {
    let users = account_users(total);
    let mut sets = HashMap::with_capacity(users.len());
    let mut requests = Vec::new();
    let wanted: Vec<usize> = requesting(users.len()).collect();
    for (u, policies) in users.iter().enumerate() {
        let principal = user(u, policies);
        if wanted.contains(&u) {
            let request = get_user(&principal, true, CedarActions::Lists);
            assert!(request.moat(&principal.set), "{name}: u{u} must be allowed");
            requests.push(request);
        }
        sets.insert(principal.moat.arn().to_owned(), principal.set);
    }
    Case {
        name,
        engine: Engine::Moat,
        size: format!("{} users' sets of 50 statements", sets.len()),
        workload: Workload::MoatAccount { sets, requests },
    }
}

fn cedar_account(name: &'static str, total: usize, mode: CedarActions) -> Case {
    let users = account_users(total);
    let wanted: Vec<usize> = requesting(users.len()).collect();
    let mut text = String::new();
    let mut requests = Vec::new();
    for (u, policies) in users.iter().enumerate() {
        let principal = user(u, policies);
        text.push_str(&principal.cedar_text(mode));
        if wanted.contains(&u) {
            requests.push(get_user(&principal, true, mode));
        }
    }
    let set = parse_cedar(&text);
    let authorizer = Authorizer::new();
    for r in &requests {
        assert!(
            r.cedar(&authorizer, &set),
            "{name}: {} must be allowed",
            r.principal.arn()
        );
    }
    Case {
        name,
        engine: Engine::Cedar(mode),
        size: format!("{} policies", set.policies().count()),
        workload: Workload::Cedar {
            set,
            authorizer,
            requests,
        },
    }
}

/// Every case (or Moat's only), after checking that the engines agree on a sweep of IAM
/// requests over the 10-policy set (allows and denies; `cargo test` sweeps every catalogued
/// action).
pub fn all(with_100000: bool, with_cedar: bool) -> Vec<Case> {
    let ten: Vec<usize> = (0..10).collect();
    let iam_actions: Vec<String> = crate::all_actions()
        .into_iter()
        .filter(|a| a.starts_with("iam:"))
        .collect();
    let alice = Principal::new("alice", "team0", &ten);
    for mode in [CedarActions::Lists, CedarActions::Groups] {
        let agreement = check_agreement(&alice, &iam_actions, mode);
        if !agreement.disagreed.is_empty() {
            panic!("the engines disagree: {:#?}", agreement.disagreed);
        }
        eprintln!(
            "moat and cedar ({}) agree on {} IAM requests over the 10-policy set ({} allowed, {} denied)",
            mode.name(),
            agreement.agreed,
            agreement.allowed,
            agreement.agreed - agreement.allowed
        );
    }

    let mut cases = single("10_policies", &ten, with_cedar);
    cases.extend(single(
        "1000_policies",
        &(0..1_000).collect::<Vec<_>>(),
        with_cedar,
    ));

    cases.push(moat_account("account_1000_policies", 1_000));
    if with_100000 {
        cases.push(moat_account("account_100000_policies", 100_000));
    }
    if with_cedar {
        for mode in [CedarActions::Lists, CedarActions::Groups] {
            cases.push(cedar_account("account_1000_policies", 1_000, mode));
        }
    }
    cases
}

impl Case {
    /// Whether a decision takes milliseconds (Cedar over thousands of policies).
    pub fn is_slow(&self) -> bool {
        matches!(&self.workload, Workload::Cedar { set, .. } if set.policies().count() > 1_000)
    }
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Moat => "moat",
            Engine::Cedar(CedarActions::Lists) => "cedar-lists",
            Engine::Cedar(CedarActions::Groups) => "cedar-groups",
        }
    }
}

//! Authorization as data: which role may take which action on which authority's cases, read from
//! `rules/access.toml` and decided by one pure function, [`Policy::decide`].
//!
//! The policy file is checked when it loads: unknown roles, actions or scopes, and lifecycle steps that belong to no
//! group (or to two), are refused, so a typo can never silently forbid or permit something.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// The policy shipped with comity.
pub const EMBEDDED: &str = include_str!("../../../rules/access.toml");

/// A role of a user account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Drafts, sends and handles requests of their authority.
    Caseworker,
    /// A caseworker who also reads the audit view.
    Supervisor,
    /// Authorises measures.
    Judge,
    /// Manages accounts.
    Admin,
    /// Reads everything, changes nothing.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Self::Caseworker,
        Self::Supervisor,
        Self::Judge,
        Self::Admin,
        Self::Auditor,
    ];

    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caseworker => "caseworker",
            Self::Supervisor => "supervisor",
            Self::Judge => "judge",
            Self::Admin => "admin",
            Self::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`; use one of caseworker, supervisor, judge, admin, auditor")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// What a user wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// See cases and requests.
    Read,
    /// Open cases and draft requests.
    Draft,
    /// Send, withdraw or close a request of one's own.
    Send,
    /// Sign or decline a judicial authorisation.
    Authorise,
    /// Review and decide an incoming request.
    Decide,
    /// See the statistics.
    Statistics,
    /// See the directory of authorities.
    Directory,
    /// See the audit view.
    Audit,
    /// Add, disable and reset accounts.
    ManageUsers,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 9] = [
        Self::Read,
        Self::Draft,
        Self::Send,
        Self::Authorise,
        Self::Decide,
        Self::Statistics,
        Self::Directory,
        Self::Audit,
        Self::ManageUsers,
    ];

    /// The name used in the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Draft => "draft",
            Self::Send => "send",
            Self::Authorise => "authorise",
            Self::Decide => "decide",
            Self::Statistics => "statistics",
            Self::Directory => "directory",
            Self::Audit => "audit",
            Self::ManageUsers => "manage-users",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who asks.
#[derive(Debug, Clone, Copy)]
pub struct Principal<'a> {
    /// Their role.
    pub role: Role,
    /// The authority they work for.
    pub authority: &'a str,
}

/// How far a grant reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    OwnAuthority,
    Any,
}

/// A policy file that does not check out; one line per problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the access policy is invalid: {}", .problems.join("; "))]
pub struct PolicyError {
    /// The problems.
    pub problems: Vec<String>,
}

/// A loaded, checked policy.
#[derive(Debug, Clone)]
pub struct Policy {
    grants: BTreeMap<(Role, Action), Scope>,
    lifecycle: BTreeMap<String, Action>,
}

mod file {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Policy {
        pub schema: u32,
        pub lifecycle: BTreeMap<String, Vec<String>>,
        pub permit: Vec<Permit>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Permit {
        pub role: String,
        pub actions: Vec<String>,
        pub scope: String,
    }
}

impl Policy {
    /// The policy shipped with comity.
    pub fn embedded() -> Result<Self, PolicyError> {
        Self::parse(EMBEDDED)
    }

    /// Parses and checks a policy; `lifecycle_actions` are every lifecycle step name, each of which must be in
    /// exactly one group.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let file: file::Policy = toml::from_str(text).map_err(|e| PolicyError {
            problems: vec![e.to_string().trim().replace('\n', " ")],
        })?;
        let mut problems = Vec::new();
        if file.schema != 1 {
            problems.push(format!("schema {} is not known; use 1", file.schema));
        }
        let mut grants = BTreeMap::new();
        for (i, permit) in file.permit.iter().enumerate() {
            let role = match permit.role.parse::<Role>() {
                Ok(r) => Some(r),
                Err(e) => {
                    problems.push(format!("permit {i}: {e}"));
                    None
                }
            };
            let scope = match permit.scope.as_str() {
                "own-authority" => Some(Scope::OwnAuthority),
                "any" => Some(Scope::Any),
                other => {
                    problems.push(format!(
                        "permit {i}: unknown scope `{other}`; use own-authority or any"
                    ));
                    None
                }
            };
            for name in &permit.actions {
                match (Action::parse(name), role, scope) {
                    (None, ..) => problems.push(format!("permit {i}: unknown action `{name}`")),
                    (Some(action), Some(role), Some(scope))
                        if grants.insert((role, action), scope).is_some() =>
                    {
                        problems.push(format!("permit {i}: `{role}` is granted `{action}` twice"));
                    }
                    _ => {}
                }
            }
        }
        let mut lifecycle = BTreeMap::new();
        for (group, steps) in &file.lifecycle {
            let Some(action) = Action::parse(group) else {
                problems.push(format!("lifecycle: unknown action `{group}`"));
                continue;
            };
            for step in steps {
                if step.parse::<comity_core::lifecycle::Action>().is_err() {
                    problems.push(format!(
                        "lifecycle.{group}: unknown lifecycle step `{step}`"
                    ));
                } else if lifecycle.insert(step.clone(), action).is_some() {
                    problems.push(format!("lifecycle: step `{step}` is in two groups"));
                }
            }
        }
        let known: BTreeSet<&String> = lifecycle.keys().collect();
        for step in comity_core::lifecycle::Action::ALL {
            if !known.contains(&step.to_string()) {
                problems.push(format!("lifecycle: step `{step}` is in no group"));
            }
        }
        if problems.is_empty() {
            Ok(Self { grants, lifecycle })
        } else {
            Err(PolicyError { problems })
        }
    }

    /// A policy that forbids everything: what runs when the policy file does not load.
    pub fn deny_all() -> Self {
        Self {
            grants: BTreeMap::new(),
            lifecycle: BTreeMap::new(),
        }
    }

    /// Whether `who` may take `action` on something of `authority`.
    pub fn decide(&self, who: Principal<'_>, action: Action, authority: &str) -> bool {
        match self.grants.get(&(who.role, action)) {
            Some(Scope::Any) => true,
            Some(Scope::OwnAuthority) => who.authority == authority,
            None => false,
        }
    }

    /// Whether `who` may take `action` at all (on their own authority's records): for menus and pages.
    pub fn may(&self, who: Principal<'_>, action: Action) -> bool {
        self.decide(who, action, who.authority)
    }

    /// The action that governs a lifecycle step.
    pub fn lifecycle_action(&self, step: &str) -> Option<Action> {
        self.lifecycle.get(step).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_file_refuses_unknown_names_and_orphan_steps() {
        let bad = "schema = 1\n[lifecycle]\nsend = [\"send\", \"fly\"]\n[[permit]]\nrole = \"clerk\"\nactions = [\"jump\"]\nscope = \"all\"\n";
        let e = Policy::parse(bad).expect_err("bad policy");
        let text = e.to_string();
        for needle in [
            "unknown role `clerk`",
            "unknown action `jump`",
            "unknown scope `all`",
            "`fly`",
            "step `authorise` is in no group",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
    }
}

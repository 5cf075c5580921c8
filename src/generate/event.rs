//! One generated request, before it becomes a line of JSON.
//!
//! An [`Event`] holds indices into the [`World`](super::world::World) rather than text, so
//! that generating a month costs little memory and the record shape lives in one place
//! ([`record`](super::record)). Everything that varies between two otherwise identical
//! requests (time, address, client, version, status, latency, correlation id) is decided
//! when the event is made, so formatting is a pure function of the event and the world.

use std::net::Ipv4Addr;

use super::rng::{self, Rand};
use super::time::Ticks;
use super::world::IdentityId;

/// The operations the generator emits (`operationName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    SecretGet,
    SecretList,
    SecretSet,
    SecretListVersions,
    SecretBackup,
    SecretDelete,
    SecretPurge,
    KeyGet,
    KeySign,
    KeyWrap,
    KeyUnwrap,
    VaultGet,
    VaultPut,
    SecretNearExpiryEventGridNotification,
    SecretExpiredEventGridNotification,
    VaultAccessPolicyChangedEventGridNotification,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::SecretGet => "SecretGet",
            Op::SecretList => "SecretList",
            Op::SecretSet => "SecretSet",
            Op::SecretListVersions => "SecretListVersions",
            Op::SecretBackup => "SecretBackup",
            Op::SecretDelete => "SecretDelete",
            Op::SecretPurge => "SecretPurge",
            Op::KeyGet => "KeyGet",
            Op::KeySign => "KeySign",
            Op::KeyWrap => "KeyWrap",
            Op::KeyUnwrap => "KeyUnwrap",
            Op::VaultGet => "VaultGet",
            Op::VaultPut => "VaultPut",
            Op::SecretNearExpiryEventGridNotification => "SecretNearExpiryEventGridNotification",
            Op::SecretExpiredEventGridNotification => "SecretExpiredEventGridNotification",
            Op::VaultAccessPolicyChangedEventGridNotification => "VaultAccessPolicyChangedEventGridNotification",
        }
    }

    /// Management-plane (ARM) operations, logged with the long claim-URI vocabulary.
    pub fn is_management(self) -> bool {
        matches!(self, Op::VaultGet | Op::VaultPut)
    }

    /// Records Key Vault writes on its own behalf, with no caller token.
    pub fn is_notification(self) -> bool {
        matches!(
            self,
            Op::SecretNearExpiryEventGridNotification
                | Op::SecretExpiredEventGridNotification
                | Op::VaultAccessPolicyChangedEventGridNotification
        )
    }

    /// Typical latency range in milliseconds of a successful call.
    pub fn latency_ms(self) -> (u32, u32) {
        match self {
            Op::SecretGet | Op::KeyGet => (3, 45),
            Op::SecretList | Op::SecretListVersions => (15, 140),
            Op::SecretSet | Op::SecretDelete | Op::SecretBackup => (20, 110),
            Op::SecretPurge => (30, 160),
            Op::KeySign | Op::KeyWrap | Op::KeyUnwrap => (5, 60),
            Op::VaultGet => (10, 90),
            Op::VaultPut => (90, 450),
            _ => (0, 1),
        }
    }
}

/// Who sent the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A cast member, from one of its addresses, with one of its clients (index into
    /// `Identity::clients`).
    Identity { id: IdentityId, ip: Ipv4Addr, client: u8 },
    /// The first, token-less request of an SDK's challenge-based authentication: Key Vault
    /// answers 401 and logs no identity. The identity only chooses the client text.
    Anonymous { id: IdentityId, ip: Ipv4Addr, client: u8 },
    /// Key Vault itself (Event Grid notifications), from the service address of the vault.
    Service,
}

/// What the request was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The vault itself (`Vault*` operations, access policy notifications).
    Vault,
    /// The secrets collection (`SecretList`): such records carry no `properties.id`.
    Secrets,
    /// A secret of the vault; `version` indexes `Secret::versions`. `pinned` says whether
    /// the caller named the version in the URL or asked for the latest.
    Secret { index: usize, version: usize, pinned: bool },
    /// A secret name that does not exist in the vault (404).
    Missing { name: &'static str },
    /// A key of the vault, at a version index.
    Key { index: usize, version: usize },
}

/// A planted credential leak, replacing part of what the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leak {
    /// Extra query parameters appended to `requestUri` (a SAS token, say).
    Query(String),
    /// A `clientInfo` (User-Agent) that embeds a connection string.
    ClientInfo(String),
    /// A `resultDescription` echoing what the client sent (an access token, say).
    Description(String),
}

/// One request, ready to be formatted.
#[derive(Debug, Clone)]
pub struct Event {
    pub time: Ticks,
    pub vault: usize,
    pub op: Op,
    pub caller: Caller,
    pub target: Target,
    pub status: u16,
    pub duration_ms: u32,
    pub correlation: u128,
    /// For `VaultPut`: whether the request changed the access policies.
    pub policy_change: bool,
    pub leak: Option<Box<Leak>>,
}

impl Event {
    /// An event with a latency drawn for its operation and outcome and a fresh correlation id.
    pub fn new(
        rng: &mut Rand,
        time: Ticks,
        vault: usize,
        op: Op,
        caller: Caller,
        target: Target,
        status: u16,
    ) -> Event {
        let duration_ms = if op.is_notification() {
            0
        } else if status >= 400 {
            // Refusals are answered before any object is read.
            rng::latency(rng, 2, 30)
        } else {
            let (lo, hi) = op.latency_ms();
            rng::latency(rng, lo, hi)
        };
        Event {
            time,
            vault,
            op,
            caller,
            target,
            status,
            duration_ms,
            correlation: rng::uuid(rng),
            policy_change: false,
            leak: None,
        }
    }
}

/// HTTP reason phrase, as Key Vault writes it in `resultSignature`.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

//! What the logs and the inventory say about each secret, key and certificate as of a
//! time: its versions and when they were set, whether it is deleted, its expiry, who read
//! it with which version, and how long the logs cover its vault.
//!
//! Built from the object access index (`queries/lifecycle/object_history.sql` over the
//! relation `access`) and the newest inventory import; never from raw events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::summary::{self, Horizon};
use crate::detect::DetectError;
use crate::detect::columns::{integers, micros, strings};
use crate::detect::relations::{bind_access, bind_access_folded};
use crate::detect::rollup::{Rollup, first_event_date, refresh};
use crate::inventory::{Inventory, Item};
use crate::lake::LakePaths;
use crate::query::QuerySession;
use crate::query::registry::lifecycle_query;

/// One row of the access index: calls of one kind by one caller on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub object_version: Option<String>,
    pub operation: String,
    /// `ok`, `denied` or `error`.
    pub outcome: String,
    pub identity_oid: Option<String>,
    pub identity_appid: Option<String>,
    pub identity_upn: Option<String>,
    pub identity_type: Option<String>,
    pub caller_ip: Option<String>,
    pub client_info: Option<String>,
    pub calls: i64,
    /// Microseconds since the epoch.
    pub first: i64,
    pub last: i64,
}

impl Access {
    /// Who called: object id, else app id, else the address.
    pub fn identity(&self) -> String {
        self.identity_oid
            .clone()
            .or_else(|| self.identity_appid.clone())
            .or_else(|| self.caller_ip.as_ref().map(|ip| format!("ip:{ip}")))
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Whether the caller is a workload (service principal, managed identity), not a
    /// person: a workload reading a secret depends on it; a person opening it in the
    /// portal does not.
    pub fn is_workload(&self) -> bool {
        self.identity_upn.is_none() && self.identity_type.as_deref() != Some("user")
    }

    /// The name a person knows the caller by: UPN, else app id, else object id.
    pub fn display_name(&self) -> String {
        self.identity_upn.clone().or_else(|| self.identity_appid.clone()).unwrap_or_else(|| self.identity())
    }

    pub fn evidence(&self, vault: &str, object: &str) -> crate::alert::Evidence {
        crate::alert::Evidence {
            time: time(self.last).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            operation: self.operation.clone(),
            vault: vault.to_owned(),
            object: Some(object.to_owned()),
            http_status: None,
            ip: self.caller_ip.clone(),
            correlation_id: None,
        }
    }
}

/// An object's facts as of the catalog's time.
#[derive(Debug, Clone)]
pub struct Facts {
    pub vault: String,
    pub object_type: String,
    pub name: String,
    /// The newest inventory entry, when its current version existed by then.
    pub inventory: Option<Item>,
    /// Versions set (successful `SecretSet`, `KeyCreate`, ...), oldest first.
    pub sets: Vec<(i64, Option<String>)>,
    /// When it was deleted, if it still is.
    pub deleted_at: Option<i64>,
    /// `*ExpiredEventGridNotification`s: when, for which version.
    pub expired_notices: Vec<(i64, Option<String>)>,
    /// `*NearExpiryEventGridNotification`s.
    pub near_expiry_notices: Vec<(i64, Option<String>)>,
    /// Successful reads of the value (or uses of a key).
    pub reads: Vec<Access>,
    /// Reads by an identity that were refused or failed. Anonymous 401s are not among
    /// them: every Key Vault SDK sends its first request without a token to learn where
    /// to authenticate (the challenge), so they say nothing about who wants the secret.
    pub failed_reads: Vec<Access>,
    /// Every other row (lists, backups, updates, deletes, notifications).
    pub other: Vec<Access>,
}

impl Facts {
    fn new(vault: &str, object_type: &str, name: &str) -> Facts {
        Facts {
            vault: vault.to_owned(),
            object_type: object_type.to_owned(),
            name: name.to_owned(),
            inventory: None,
            sets: Vec::new(),
            deleted_at: None,
            expired_notices: Vec::new(),
            near_expiry_notices: Vec::new(),
            reads: Vec::new(),
            failed_reads: Vec::new(),
            other: Vec::new(),
        }
    }

    /// Files one row of the access index under what it says about the object.
    fn add(&mut self, access: Access) {
        let ok = access.outcome == "ok";
        let op = access.operation.as_str();
        if ok && is_set(op) {
            self.sets.push((access.first, access.object_version.clone()));
            if self.deleted_at.is_some_and(|d| d <= access.first) {
                self.deleted_at = None;
            }
            self.other.push(access);
        } else if ok && is_delete(op) {
            self.deleted_at = Some(self.deleted_at.map_or(access.first, |d| d.min(access.first)));
            self.other.push(access);
        } else if op.ends_with("ExpiredEventGridNotification") {
            self.expired_notices.push((access.first, access.object_version.clone()));
            self.other.push(access);
        } else if op.ends_with("NearExpiryEventGridNotification") {
            self.near_expiry_notices.push((access.first, access.object_version.clone()));
            self.other.push(access);
        } else if is_read(op) && ok {
            self.reads.push(access);
        } else if is_read(op) && (access.identity_oid.is_some() || access.identity_appid.is_some()) {
            self.failed_reads.push(access);
        } else {
            self.other.push(access);
        }
    }

    /// `vault/name`.
    pub fn path(&self) -> String {
        format!("{}/{}", self.vault, self.name)
    }

    /// Whether it is known to exist: the inventory lists it, or a successful operation
    /// on it was logged. A name seen only in failed calls (a probe for a secret that is
    /// not there, an attacker's guesses) is not a secret of the vault.
    pub fn exists(&self) -> bool {
        self.inventory.is_some() || !self.reads.is_empty() || self.other.iter().any(|a| a.outcome == "ok")
    }

    /// The newest successful read.
    pub fn last_read(&self) -> Option<&Access> {
        self.reads.iter().max_by_key(|r| r.last)
    }

    /// When the version current at `t` was set: the last set before it, else the
    /// inventory's creation date of the current version.
    pub fn current_set_at(&self, t: i64) -> Option<i64> {
        let logged = self.sets.iter().rev().find(|(when, _)| *when <= t).map(|(when, _)| *when);
        logged.or_else(|| self.inventory.as_ref().and_then(|i| i.created).map(|c| c.timestamp_micros()))
    }

    /// The version current at `t`, when the logs or the inventory name it.
    pub fn current_version_at(&self, t: i64) -> Option<&str> {
        let logged = self.sets.iter().rev().find(|(when, _)| *when <= t).and_then(|(_, v)| v.as_deref());
        logged.or_else(|| self.inventory.as_ref().and_then(|i| i.version.as_deref()))
    }

    /// When it was first known to exist: the first set, else the inventory's creation
    /// date, else the first record about it.
    pub fn known_since(&self) -> Option<i64> {
        let first_set = self.sets.first().map(|s| s.0);
        let created = self.inventory.as_ref().and_then(|i| i.created).map(|c| c.timestamp_micros());
        let first_seen = self.reads.iter().chain(&self.failed_reads).chain(&self.other).map(|a| a.first).min();
        [first_set, created].into_iter().flatten().min().or(first_seen)
    }
}

/// The catalog: every object known as of `as_of`, and each vault's coverage.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Microseconds; the time the facts hold at.
    pub as_of: i64,
    pub objects: BTreeMap<(String, String, String), Facts>,
    /// Vault → (first, last) record time the logs hold about it.
    pub coverage: BTreeMap<String, (i64, i64)>,
    /// Vault → successful changes of the vault itself (`VaultPut`, `VaultPatch`, ...).
    pub vault_changes: BTreeMap<String, Vec<Access>>,
}

/// The rows of an index query result as [`Access`]es, times capped at `as_of`. Each
/// column's strings are moved into the rows, not copied: the catalog of a long history is
/// hundreds of thousands of rows, and their allocations were most of its load time.
fn accesses(batch: &arrow::record_batch::RecordBatch, as_of: i64) -> Result<Vec<Access>, DetectError> {
    let rows = batch.num_rows();
    let s = |name| strings(batch, name).map(Vec::into_iter);
    let mut operation = s("operation")?;
    let mut outcome = s("outcome").unwrap_or_else(|_| vec![Some("ok".into()); rows].into_iter());
    let mut version = s("object_version").unwrap_or_else(|_| vec![None; rows].into_iter());
    let (mut oid, mut appid, mut upn, mut itype, mut ip, mut client) = (
        s("identity_oid")?,
        s("identity_appid")?,
        s("identity_upn")?,
        s("identity_type")?,
        s("caller_ip")?,
        s("client_info")?,
    );
    let (calls, first, last) = (integers(batch, "calls")?, micros(batch, "first_time")?, micros(batch, "last_time")?);
    let next = |column: &mut std::vec::IntoIter<Option<String>>| column.next().flatten();
    Ok((0..rows)
        .map(|i| Access {
            object_version: next(&mut version),
            operation: next(&mut operation).unwrap_or_default(),
            outcome: next(&mut outcome).unwrap_or_default(),
            identity_oid: next(&mut oid),
            identity_appid: next(&mut appid),
            identity_upn: next(&mut upn),
            identity_type: next(&mut itype),
            caller_ip: next(&mut ip),
            client_info: next(&mut client),
            calls: calls[i].unwrap_or(0),
            first: first[i].unwrap_or(0),
            last: last[i].unwrap_or(0).min(as_of),
        })
        .collect())
}

/// Operations that read an object's value or use a key.
pub fn is_read(operation: &str) -> bool {
    matches!(
        operation,
        "SecretGet"
            | "KeyGet"
            | "KeyDecrypt"
            | "KeyEncrypt"
            | "KeySign"
            | "KeyVerify"
            | "KeyWrap"
            | "KeyUnwrap"
            | "KeyWrapKey"
            | "KeyUnwrapKey"
            | "CertificateGet"
    )
}

/// Operations that set a new version (or bring a deleted object back).
pub const SET_OPERATIONS: [&str; 12] = [
    "SecretSet",
    "SecretRestore",
    "SecretRecover",
    "KeyCreate",
    "KeyImport",
    "KeyRotate",
    "KeyRestore",
    "KeyRecover",
    "CertificateCreate",
    "CertificateImport",
    "CertificateRestore",
    "CertificateRecover",
];

/// Operations that delete an object.
pub const DELETE_OPERATIONS: [&str; 6] =
    ["SecretDelete", "SecretPurge", "KeyDelete", "KeyPurge", "CertificateDelete", "CertificatePurge"];

pub(super) fn is_set(operation: &str) -> bool {
    SET_OPERATIONS.contains(&operation)
}

fn is_delete(operation: &str) -> bool {
    DELETE_OPERATIONS.contains(&operation)
}

pub fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

impl Catalog {
    /// Brings the access index up to date and builds the catalog of `[lake start, as_of)`;
    /// `only` narrows it to one object (vault, name) and lets the scan prune. With a
    /// `folding` horizon, the days before it are read folded (`summary`): the findings are
    /// the same, the days of a stretch are not told apart (what `secret-status` shows).
    pub async fn load(
        session: &QuerySession,
        lake: &LakePaths,
        inventory: &Inventory,
        as_of: DateTime<Utc>,
        only: Option<(&str, &str)>,
        folding: Option<Horizon>,
    ) -> Result<Catalog, DetectError> {
        let as_of_us = as_of.timestamp_micros();
        let mut catalog = Catalog { as_of: as_of_us, ..Catalog::default() };
        let Some(first) = first_event_date(lake) else { return Ok(catalog.with_inventory(inventory, only)) };
        let t0 = std::time::Instant::now();
        refresh(session, lake, Rollup::ObjectAccess, first, as_of.date_naive()).await?;
        let start = first.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or(DetectError::BadTime)?;
        let folded = match folding {
            Some(horizon) => summary::prepare(session, lake, inventory, as_of, horizon, first).await?,
            None => None,
        };
        let t1 = std::time::Instant::now();
        match folded {
            Some(cutoff) => {
                bind_access_folded(session, lake, start, as_of, (&lake.object_summary_file(), cutoff)).await?
            }
            None => bind_access(session, lake, start, as_of).await?,
        }
        let t2 = std::time::Instant::now();
        let ctx = session.context();

        let quote = |s: &str| s.to_ascii_lowercase().replace('\'', "''");
        let mut coverage = format!("SELECT * FROM ({})", lifecycle_query("vault_coverage"));
        if let Some((vault, _)) = only {
            coverage.push_str(&format!(" WHERE vault = '{}'", quote(vault)));
        }
        for batch in ctx.sql(&coverage).await?.collect().await? {
            let (vaults, firsts, lasts) =
                (strings(&batch, "vault")?, micros(&batch, "first_time")?, micros(&batch, "last_time")?);
            for i in 0..batch.num_rows() {
                if let (Some(v), Some(f), Some(l)) = (&vaults[i], firsts[i], lasts[i]) {
                    catalog.coverage.insert(v.clone(), (f, l.min(as_of_us)));
                }
            }
        }

        let mut sql = format!(
            "SELECT * FROM ({}) WHERE first_time < {}",
            lifecycle_query("object_history"),
            crate::detect::relations::timestamp_literal(as_of)
        );
        if let Some((vault, name)) = only {
            sql.push_str(&format!(" AND vault = '{}' AND object_name = '{}'", quote(vault), quote(name)));
        }
        let t3 = std::time::Instant::now();
        let batches = ctx.sql(&sql).await?.collect().await?;
        let t4 = std::time::Instant::now();
        for batch in &batches {
            catalog.add_rows(batch)?;
        }
        let t5 = std::time::Instant::now();
        if only.is_none() {
            let sql = format!(
                "SELECT * FROM ({}) WHERE first_time < {}",
                lifecycle_query("vault_operations"),
                crate::detect::relations::timestamp_literal(as_of)
            );
            for batch in ctx.sql(&sql).await?.collect().await? {
                let vaults = strings(&batch, "vault")?;
                for (i, access) in accesses(&batch, as_of_us)?.into_iter().enumerate() {
                    if let Some(v) = &vaults[i] {
                        catalog.vault_changes.entry(v.clone()).or_default().push(access);
                    }
                }
            }
        }
        tracing::debug!(
            refresh_and_fold_ms = (t1 - t0).as_millis(),
            bind_ms = (t2 - t1).as_millis(),
            coverage_ms = (t3 - t2).as_millis(),
            history_query_ms = (t4 - t3).as_millis(),
            rows = batches.iter().map(|b| b.num_rows()).sum::<usize>(),
            facts_ms = (t5 - t4).as_millis(),
            vault_changes_ms = t5.elapsed().as_millis(),
            "Loaded the access index."
        );
        for facts in catalog.objects.values_mut() {
            facts.sets.sort();
            facts.expired_notices.sort();
            facts.near_expiry_notices.sort();
        }
        Ok(catalog.with_inventory(inventory, only))
    }

    fn add_rows(&mut self, batch: &arrow::record_batch::RecordBatch) -> Result<(), DetectError> {
        let s = |name| strings(batch, name);
        let (vault, object_type, name) = (s("vault")?, s("object_type")?, s("object_name")?);
        // Rows come sorted by object: the map is searched once per object, not once per row.
        let mut current: Option<(String, String, String)> = None;
        let mut facts: Option<&mut Facts> = None;
        for (i, access) in accesses(batch, self.as_of)?.into_iter().enumerate() {
            let (Some(v), Some(n)) = (&vault[i], &name[i]) else { continue };
            let object_type = object_type[i].as_deref().unwrap_or("secret");
            let same = current.as_ref().is_some_and(|(cv, ct, cn)| cv == v && ct == object_type && cn == n);
            if !same || facts.is_none() {
                let key = (v.clone(), object_type.to_owned(), n.clone());
                current = Some(key.clone());
                facts = Some(self.objects.entry(key).or_insert_with(|| Facts::new(v, object_type, n)));
            }
            let Some(facts) = facts.as_deref_mut() else { continue };
            facts.add(access);
        }
        Ok(())
    }

    /// Joins the newest inventory: entries whose current version existed by `as_of`
    /// describe the object; objects only the inventory knows are added.
    fn with_inventory(mut self, inventory: &Inventory, only: Option<(&str, &str)>) -> Catalog {
        for ((vault, object_type, name), item) in inventory.current() {
            if only.is_some_and(|(v, n)| !v.eq_ignore_ascii_case(&vault) || !n.eq_ignore_ascii_case(&name)) {
                continue;
            }
            let created = item.created.map(|c| c.timestamp_micros());
            if created.is_some_and(|c| c > self.as_of) {
                // The inventory describes a version set after `as_of`: its dates do not
                // hold then (the object itself may, through the logs).
                continue;
            }
            let facts = self
                .objects
                .entry((vault.clone(), object_type.clone(), name.clone()))
                .or_insert_with(|| Facts::new(&vault, &object_type, &name));
            facts.inventory = Some(item.clone());
        }
        self
    }

    /// The catalog narrowed to one of its objects (same time and coverage): what the
    /// findings about that object are computed from.
    pub fn only(&self, facts: &Facts) -> Catalog {
        Catalog {
            as_of: self.as_of,
            objects: [((facts.vault.clone(), facts.object_type.clone(), facts.name.clone()), facts.clone())].into(),
            coverage: self.coverage.clone(),
            vault_changes: BTreeMap::new(),
        }
    }

    /// How long the logs cover `vault` as of the catalog's time, in days.
    pub fn coverage_days(&self, vault: &str) -> f64 {
        self.coverage.get(vault).map_or(0.0, |(first, _)| (self.as_of - first) as f64 / 86_400e6)
    }

    /// When the logs about `vault` start.
    pub fn coverage_start(&self, vault: &str) -> Option<i64> {
        self.coverage.get(vault).map(|c| c.0)
    }
}

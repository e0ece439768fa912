//! The host's tools: what `sejf` run with the master key does besides serving (import, export,
//! audit export and tail, backups, policy explanations). Each use case takes the acting
//! [`Actor`] and refuses anyone but the operator (or, for the trail, a reader of it), so the
//! edges never reach the store or the key store themselves.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use uuid::Uuid;

use crate::authz::{Actor, Scope};
use crate::people::PersonInput;
use crate::ports::{ImportStep, KeyKind, RecordKind, SealedEvent};
use crate::{App, CoreError};

/// Which blind index a held identity came from: e-mail, phone or national id.
pub type IdentityIndex = u8;

/// Refuses anyone but the operator (the CLI holding the master key).
pub(crate) fn operator_only(actor: &Actor, what: &str) -> Result<(), CoreError> {
    if actor.scope == Scope::Operator { Ok(()) } else { Err(CoreError::Forbidden(format!("only the operator may {what}"))) }
}

impl App {
    /// How many people are held (the host tools' progress bars).
    pub async fn people_count(&self) -> Result<i64, CoreError> {
        Ok(self.store.people_count().await?)
    }

    /// The blind-index values of every person held: (index, value) → person, read in pages.
    /// An import matches its rows against them.
    pub async fn held_identities(&self, actor: &Actor) -> Result<HashMap<(IdentityIndex, i64), Uuid>, CoreError> {
        operator_only(actor, "match an import against everyone held")?;
        let mut known = HashMap::new();
        let mut after = None;
        loop {
            let page = self.store.people_keys(after, 10_000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for k in &page {
                for (i, v) in [k.email_bidx, k.phone_bidx, k.national_id_bidx].into_iter().enumerate() {
                    if let Some(v) = v {
                        known.insert((i as IdentityIndex, v), k.id);
                    }
                }
            }
        }
        Ok(known)
    }

    /// A resumable import's progress: rows committed, and whether it finished.
    pub async fn import_job(&self, actor: &Actor, digest: &str) -> Result<Option<(i64, bool)>, CoreError> {
        operator_only(actor, "import")?;
        Ok(self.store.import_job(digest).await?)
    }

    /// Marks a resumable import finished.
    pub async fn import_job_finish(&self, actor: &Actor, digest: &str) -> Result<(), CoreError> {
        operator_only(actor, "import")?;
        Ok(self.store.import_job_finish(digest, self.now()).await?)
    }

    /// The import's writer: it writes what arrives on `steps` (sealed people with their events)
    /// until `Finish` commits, or the sender is dropped and nothing is kept (`job`: commit
    /// batch by batch under this resumable job instead). Runs on its own task.
    pub fn import_writer(
        &self,
        actor: &Actor,
        job: Option<String>,
        steps: tokio::sync::mpsc::Receiver<ImportStep>,
    ) -> Result<impl Future<Output = Result<u64, CoreError>> + Send + 'static, CoreError> {
        operator_only(actor, "import")?;
        let (store, now) = (self.store.clone(), self.now());
        Ok(async move { Ok(store.people_import(job, now, steps).await?) })
    }

    /// Plants a honeytoken: a person like any other customer, created exactly as an imported
    /// one is (sealed, with its `person.create` event), and marked as bait before it exists, so
    /// it is never readable unmarked. Only the operator's `honeytokens` table says it is bait.
    pub async fn plant_honeytoken(&self, actor: &Actor, input: &PersonInput) -> Result<Uuid, CoreError> {
        operator_only(actor, "plant a honeytoken")?;
        let prepared = self.prepare_person(actor, input).await?;
        let sealed = self.seal_new_person(&prepared)?;
        let id = sealed.row.id;
        self.mark_honeytoken(actor, id).await?;
        let events = self.creation_events(actor, std::slice::from_ref(&sealed));
        self.store.people_insert_batch(vec![sealed], events).await?;
        Ok(id)
    }

    /// A page of the trail after `after`, in order, as stored: the operator's export and tail.
    /// Readers of the trail go through [`App::audit_trail`], which records their read.
    pub async fn audit_page(&self, actor: &Actor, after: i64, limit: u32) -> Result<Vec<SealedEvent>, CoreError> {
        operator_only(actor, "read the trail unrecorded")?;
        Ok(self.store.audit_range(after, limit).await?)
    }

    /// The last `n` events of the trail, oldest first, read page by page and keeping only `n`
    /// in memory (a trail of millions is not loaded whole).
    pub async fn audit_last(&self, actor: &Actor, n: usize) -> Result<Vec<SealedEvent>, CoreError> {
        operator_only(actor, "read the trail unrecorded")?;
        let mut last = std::collections::VecDeque::with_capacity(n.min(10_000));
        let mut after = 0;
        loop {
            let page = self.store.audit_range(after, 10_000).await?;
            let Some(tail) = page.last() else { break };
            after = tail.seq;
            for e in page {
                if last.len() == n {
                    last.pop_front();
                }
                if n > 0 {
                    last.push_back(e);
                }
            }
        }
        Ok(last.into())
    }

    /// The seed of a named system key (made on first use), e.g. the backup manifests' signing
    /// key.
    pub async fn system_key_seed(&self, actor: &Actor, name: &str) -> Result<Arc<sejf_crypto::Key32>, CoreError> {
        operator_only(actor, "use the installation's keys")?;
        self.keys.named_key(self.store.as_ref(), KeyKind::System, name).await
    }

    /// A record of any kind as the policies see it (kind, owner, the owner's units, unit), for
    /// explaining a decision about it; `None` if no record has the id.
    pub async fn record_resource(&self, actor: &Actor, id: Uuid) -> Result<Option<sejf_policy::Resource>, CoreError> {
        operator_only(actor, "look up any record")?;
        let found = match self.store.person_get(id).await? {
            Some(p) => Some((RecordKind::Person, p.row.owner_id, p.row.unit)),
            None => {
                let mut found = None;
                for kind in [RecordKind::Company, RecordKind::Deal, RecordKind::Activity] {
                    if let Some(r) = self.store.record_get(kind, id).await? {
                        found = Some((kind, r.owner_id, r.unit));
                        break;
                    }
                }
                found
            }
        };
        let Some((kind, owner, unit)) = found else { return Ok(None) };
        let owner_units = self.store.user_by_id(owner).await?.map(|u| u.units).unwrap_or_default();
        Ok(Some(sejf_policy::Resource::Record { kind, id, owner, owner_units, unit }))
    }
}

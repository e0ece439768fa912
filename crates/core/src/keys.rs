//! The key hierarchy in use: the master key, the blind-index keys of the searchable fields, and
//! per-unit and per-subject data keys, all stored wrapped in the key store (ADR 0002).
//!
//! Index keys are loaded once at start-up; unit keys are cached after first use (a unit key is
//! never replaced, so the cache cannot go stale); subject keys are unwrapped per use and dropped
//! (zeroised) right after, so erasing a subject's key takes effect at once on every server.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sejf_crypto::{BlindIndexKey, Key32, MasterKey};
use uuid::Uuid;

use crate::CoreError;
use crate::ports::{BlindIndex, KeyKind, Store};

pub struct Keyring {
    master: MasterKey,
    index: HashMap<BlindIndex, BlindIndexKey>,
    units: RwLock<HashMap<String, Arc<Key32>>>,
}

fn wrap_id(kind: KeyKind, id: &str) -> String {
    format!("{}/{id}", kind.as_str())
}

impl Keyring {
    /// Loads (creating on first start) the index keys. Several servers may start at once: the
    /// first insert wins and everyone reads back the winner.
    pub async fn open(store: &dyn Store, master: MasterKey) -> Result<Self, CoreError> {
        let mut index = HashMap::new();
        for field in BlindIndex::ALL {
            let key = get_or_create(store, &master, KeyKind::Index, field.key_id()).await?;
            index.insert(field, BlindIndexKey::new(key));
        }
        Ok(Self { master, index, units: RwLock::new(HashMap::new()) })
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The blind index of an already normalised value.
    pub fn bidx(&self, field: BlindIndex, normalised: &str) -> i64 {
        self.index.get(&field).map(|k| k.compute(normalised)).unwrap_or(0)
    }

    /// A fresh subject key for a new person, and its wrapped form for the key store.
    pub fn new_subject_key(&self, subject: Uuid) -> Result<(Key32, Vec<u8>), CoreError> {
        let key = Key32::generate()?;
        let wrapped = self.master.wrap(&key, &wrap_id(KeyKind::Subject, &subject.to_string()))?;
        Ok((key, wrapped))
    }

    /// Opens a subject key read from the key store.
    pub fn open_subject_key(&self, subject: Uuid, wrapped: &[u8]) -> Result<Key32, CoreError> {
        Ok(self.master.unwrap_key(wrapped, &wrap_id(KeyKind::Subject, &subject.to_string()))?)
    }

    /// The data key of a business unit, created on first use.
    pub async fn unit_key(&self, store: &dyn Store, unit: &str) -> Result<Arc<Key32>, CoreError> {
        self.named_key(store, KeyKind::Unit, unit).await
    }

    /// A system key that must exist already (one only `sejf init` creates), cached once read;
    /// None when the key store has none.
    pub async fn existing_named_key(&self, store: &dyn Store, kind: KeyKind, id: &str) -> Result<Option<Arc<Key32>>, CoreError> {
        let cache_id = format!("{}/{id}", kind.as_str());
        if let Some(k) = self.units.read().map_err(|_| CoreError::Internal("key cache poisoned".into()))?.get(&cache_id) {
            return Ok(Some(k.clone()));
        }
        let Some(wrapped) = store.key_get(kind, id).await? else { return Ok(None) };
        let key = Arc::new(
            self.master
                .unwrap_key(&wrapped, &wrap_id(kind, id))
                .map_err(|e| CoreError::Integrity(format!("{} key {id}: {e}", kind.as_str())))?,
        );
        self.units.write().map_err(|_| CoreError::Internal("key cache poisoned".into()))?.insert(cache_id, key.clone());
        Ok(Some(key))
    }

    /// A unit or system key, created on first use and cached (such keys are never replaced).
    pub async fn named_key(&self, store: &dyn Store, kind: KeyKind, id: &str) -> Result<Arc<Key32>, CoreError> {
        let cache_id = format!("{}/{id}", kind.as_str());
        if let Some(k) = self.units.read().map_err(|_| CoreError::Internal("key cache poisoned".into()))?.get(&cache_id) {
            return Ok(k.clone());
        }
        let key = Arc::new(get_or_create(store, &self.master, kind, id).await?);
        self.units.write().map_err(|_| CoreError::Internal("key cache poisoned".into()))?.insert(cache_id, key.clone());
        Ok(key)
    }
}

async fn get_or_create(store: &dyn Store, master: &MasterKey, kind: KeyKind, id: &str) -> Result<Key32, CoreError> {
    let wid = wrap_id(kind, id);
    if let Some(w) = store.key_get(kind, id).await? {
        return master.unwrap_key(&w, &wid).map_err(|e| CoreError::Integrity(format!("{} key {id}: {e}", kind.as_str())));
    }
    let fresh = Key32::generate()?;
    let wrapped = master.wrap(&fresh, &wid)?;
    store.key_insert_if_absent(kind, id, master.version(), &wrapped).await?;
    let stored =
        store.key_get(kind, id).await?.ok_or_else(|| CoreError::Internal(format!("{} key {id} vanished after insert", kind.as_str())))?;
    master.unwrap_key(&stored, &wid).map_err(|e| {
        CoreError::Integrity(format!(
            "{} key {id} does not open with this master key ({e}); is this the right passphrase or key file?",
            kind.as_str()
        ))
    })
}

//! The value of each API key: as the template writes it, else generated once (40 letters and
//! digits, as API Gateway generates them) and kept in the box's state directory, so clients
//! keep working across restarts until the box's data is deleted.

use std::collections::BTreeMap;
use std::path::Path;

use esb_model::ApiKey;
use ring::rand::{SecureRandom, SystemRandom};

use super::state_file;

const KEYS_FILE: &str = "api-keys.json";
const GENERATED_LENGTH: usize = 40;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Key values by logical id.
#[derive(Debug)]
pub(crate) struct KeyValues(BTreeMap<String, String>);

impl KeyValues {
    /// The values of `keys`, generating and saving the ones the template leaves out.
    pub(crate) fn ensure(state_dir: &Path, keys: &[ApiKey]) -> std::io::Result<KeyValues> {
        let path = state_dir.join(KEYS_FILE);
        let mut generated = read_generated(&path)?;
        let missing: Vec<&ApiKey> = keys
            .iter()
            .filter(|k| k.value.is_none() && !generated.contains_key(&k.logical_id))
            .collect();
        if !missing.is_empty() {
            for key in missing {
                generated.insert(key.logical_id.clone(), generate()?);
            }
            let text = serde_json::to_vec_pretty(&generated).map_err(std::io::Error::other)?;
            state_file::write_atomically(&path, &text)?;
        }
        Ok(KeyValues(values(keys, &generated)))
    }

    pub(crate) fn get(&self, logical_id: &str) -> Option<&str> {
        self.0.get(logical_id).map(String::as_str)
    }
}

/// Each key's value as a client needs it, `(name, value)`, for `esb up` to print: the
/// template's own or the one generated into `state_dir`. Keys whose value was not generated
/// yet are left out.
pub fn key_values(state_dir: &Path, keys: &[ApiKey]) -> Vec<(String, String)> {
    let generated = read_generated(&state_dir.join(KEYS_FILE)).unwrap_or_default();
    let values = values(keys, &generated);
    keys.iter()
        .filter_map(|k| Some((k.name.clone(), values.get(&k.logical_id)?.clone())))
        .collect()
}

fn values(keys: &[ApiKey], generated: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    keys.iter()
        .filter_map(|k| {
            let value = k
                .value
                .clone()
                .or_else(|| generated.get(&k.logical_id).cloned())?;
            Some((k.logical_id.clone(), value))
        })
        .collect()
}

fn read_generated(path: &Path) -> std::io::Result<BTreeMap<String, String>> {
    state_file::read(path, "a map of API key values")
}

fn generate() -> std::io::Result<String> {
    let mut bytes = [0u8; GENERATED_LENGTH];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| std::io::Error::other("no system randomness for an API key"))?;
    // 256 is four times 62 plus 8: the slight bias towards the first letters does not matter
    // for a key this long.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

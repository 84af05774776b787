//! What one record of a SIEM source turns out to be, and the audit event read from it.

use cairn_evidence::disclosure::{self, Placed};
use cairn_evidence::event::ChainFields;
use cairn_evidence::tables::{EventRow, Provenance};
use cairn_evidence::time::parse_rfc3339;
use serde_json::{Map, Value};

/// Outcome of reading one record.
pub(crate) enum Record {
    /// An audit event.
    Event(Box<ChainEventRecord>),
    /// A record that carries no event by design (a Splunk preview row, a message line): counted,
    /// not kept aside.
    Skip(&'static str),
    /// A record that should carry an event and does not.
    Bad(String),
}

/// An audit event read from a record, with the SIEM's metadata beside it.
pub(crate) struct ChainEventRecord {
    pub(crate) fields: ChainFields,
    pub(crate) json: String,
    pub(crate) siem_time: Option<String>,
    pub(crate) siem_meta: Option<String>,
    /// The personal values the event discloses, checked against its commitments: they go to
    /// the disclosure vault, not the lake.
    pub(crate) disclosures: Vec<Placed>,
    /// Why the event's disclosures were refused (none is kept then); the event itself is kept.
    pub(crate) refused: Option<String>,
}

impl ChainEventRecord {
    /// An event with no disclosures.
    pub(crate) fn new(fields: ChainFields, json: String) -> Self {
        Self { fields, json, siem_time: None, siem_meta: None, disclosures: Vec::new(), refused: None }
    }

    /// The `events` row of this record.
    pub(crate) fn into_row(self, provenance: Provenance) -> EventRow {
        let f = self.fields;
        EventRow {
            chain: f.chain,
            seq: f.seq,
            ts: f.ts,
            kid: f.kid,
            prev: f.prev,
            hash: f.hash,
            sig: f.sig,
            event_json: self.json,
            siem_time: self.siem_time,
            siem_meta: self.siem_meta,
            provenance,
        }
    }
}

/// The audit event at `pointer` inside a record (a string holding JSON is parsed; an empty
/// pointer is the whole record, whose text is `text`).
pub(crate) fn chain_event(value: &Value, text: Option<&str>, pointer: &str) -> Record {
    let (mut event, mut json) = if pointer.is_empty() {
        (value.clone(), text.map_or_else(|| value.to_string(), str::to_string))
    } else {
        match value.pointer(pointer) {
            None => return Record::Bad(format!("no value at JSON pointer {pointer}")),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(v) => (v, s.clone()),
                Err(e) => return Record::Bad(format!("the string at {pointer} is not JSON: {e}")),
            },
            Some(v) => (v.clone(), v.to_string()),
        }
    };
    // Disclosures are not part of the signed event: they leave its stored text.
    let taken = event.as_object_mut().map(disclosure::take).transpose();
    let (disclosures, refused) = match taken {
        Ok(None | Some(None)) => (Vec::new(), None),
        Ok(Some(Some(list))) => {
            json = event.to_string();
            match disclosure::check(&event, &list) {
                Ok(placed) => (placed, None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            }
        }
        Err(e) => {
            json = event.to_string();
            (Vec::new(), Some(e.to_string()))
        }
    };
    let fields = match ChainFields::from_value(&event) {
        Ok(f) => f,
        Err(e) => return Record::Bad(format!("not a chain event: {e}")),
    };
    if parse_rfc3339(&fields.ts).is_none() {
        return Record::Bad(format!("not a chain event: member `ts` = {:?} is not an RFC 3339 time", fields.ts));
    }
    let mut record = ChainEventRecord::new(fields, json);
    record.disclosures = disclosures;
    record.refused = refused;
    Record::Event(Box::new(record))
}

/// Copies the named members of `from` into a metadata object (absent ones are left out).
pub(crate) fn pick(from: Option<&Value>, keys: &[&str], into: &mut Map<String, Value>) {
    let Some(Value::Object(o)) = from else { return };
    for k in keys {
        if let Some(v) = o.get(*k) {
            into.insert((*k).to_string(), v.clone());
        }
    }
}

/// Puts the SIEM's time and metadata beside an event (other outcomes pass through).
pub(crate) fn with_meta(record: Record, time: Option<&Value>, meta: Map<String, Value>) -> Record {
    match record {
        Record::Event(mut ev) => {
            ev.siem_time = time.map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_string));
            ev.siem_meta = (!meta.is_empty()).then(|| Value::Object(meta).to_string());
            Record::Event(ev)
        }
        other => other,
    }
}

//! A worker: frames a block into records, decodes each into an event, groups the events
//! into one Arrow batch per date partition (the record's own `time`, UTC) and encodes them
//! into its own staged Parquet files. Whatever does not decode becomes a quarantine entry
//! with its offset and reason.
//!
//! Each worker owns a Parquet writer: encoding and compressing is as costly as decoding,
//! so it runs on every core too, at the price of one file per worker and date per commit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use chrono::NaiveDate;

use super::IngestError;
use super::crc64;
use super::read_ahead::ReadAhead;
use super::reader::{Block, BlockCrc};
use super::sink::Message;
use crate::lake::LakeError;
use crate::lake::batch::EventBatchBuilder;
use crate::lake::quarantine::QuarantineEntry;
use crate::lake::writer::PartitionWriter;
use crate::record::framing::{Rest, Unit, frame};
use crate::record::redact::{Pattern, Redactor};
use crate::record::{self};

/// What a worker made of one block.
pub struct DecodedBlock {
    pub source: Arc<str>,
    /// The source offset up to which everything is decoded or quarantined.
    pub consumed_to: u64,
    pub length: u64,
    /// The source identity to checkpoint, when the reader knows it (blobs).
    pub fingerprint: Option<Arc<str>>,
    /// CRC-64 of the source's bytes `[0, consumed_to)`, when the source keeps one.
    pub prefix_crc64: Option<u64>,
    pub pending_bytes: u64,
    pub records: u64,
    pub quarantined: Vec<QuarantineEntry>,
    /// Records (rows and quarantined) with at least one credential redacted.
    pub redacted_records: u64,
    /// Credentials redacted, by pattern.
    pub redactions: BTreeMap<&'static str, u64>,
}

/// The UTC date of a timestamp in microseconds.
pub fn date_of(time_us: i64) -> NaiveDate {
    crate::lake::paths::partition_date(time_us).unwrap_or(NaiveDate::MIN)
}

/// What the reader asks of a worker.
pub enum Work {
    Block(Block),
    /// Close the staged files and hand them to the sink: a commit is coming.
    Flush,
}

/// Rows a worker gathers per date before it hands them to the Parquet writer. Archive
/// blobs are small (a few hundred records an hour per vault); encoding each as its own
/// batch would pay the writer's per-batch, per-column cost thousands of times.
const BATCH_ROWS: usize = 8 * 1024;

/// Dates a worker gathers rows for at once.
const MAX_DATES_GATHERED: usize = 2;

/// The rows a worker is gathering: one builder per date, and one finished builder kept for
/// the next new date. A finished builder keeps the capacity of the batch it made; a new
/// one would grow every column by doubling again, copying the `raw` column over and over.
#[derive(Default)]
pub struct Gathering {
    by_date: BTreeMap<NaiveDate, EventBatchBuilder>,
    spare: Option<EventBatchBuilder>,
}

impl Gathering {
    /// The builder of `date`: the spare one when the date is new here.
    fn builder(&mut self, date: NaiveDate) -> &mut EventBatchBuilder {
        self.by_date.entry(date).or_insert_with(|| self.spare.take().unwrap_or_default())
    }

    /// Hands every date's rows, once at least `min_rows`, to the writer.
    fn write_full(&mut self, writer: &mut PartitionWriter, min_rows: usize) -> Result<(), IngestError> {
        for (date, builder) in self.by_date.iter_mut().filter(|(_, b)| !b.is_empty() && b.len() >= min_rows) {
            writer.write(*date, &builder.finish().map_err(LakeError::from)?)?;
        }
        Ok(())
    }

    /// Writes out the oldest dates until at most `keep` are gathered.
    fn write_oldest(&mut self, writer: &mut PartitionWriter, keep: usize) -> Result<(), IngestError> {
        while self.by_date.len() > keep {
            let (date, mut builder) = self.by_date.pop_first().expect("more dates than `keep`");
            if !builder.is_empty() {
                writer.write(date, &builder.finish().map_err(LakeError::from)?)?;
            }
            self.spare = Some(builder);
        }
        Ok(())
    }
}

/// Decoded blocks a worker reports to the sink in one message. A message per block woke
/// the sink's thread once per blob (4,317 times in the benchmark), each wake a system call
/// here and a context switch on a core that a worker was using; the sink needs a block's
/// counts and checkpoint only by the next commit, and the progress bar moves a little less
/// often.
const BLOCKS_PER_REPORT: usize = 16;

/// Works until the reader closes the channel.
pub fn run(
    work: Receiver<Work>,
    sink: &SyncSender<Message>,
    max_record_bytes: usize,
    redactor: &Redactor,
    mut writer: PartitionWriter,
    read_ahead: &ReadAhead,
) -> Result<(), IngestError> {
    let stopped = || IngestError::Thread("the lake writer stopped".into());
    let report = |decoded: &mut Vec<DecodedBlock>| {
        if decoded.is_empty() {
            return Ok(());
        }
        sink.send(Message::Blocks(std::mem::take(decoded))).map_err(|_| stopped())
    };
    let mut gathering = Gathering::default();
    let mut decoded_blocks = Vec::with_capacity(BLOCKS_PER_REPORT);
    for item in work {
        match item {
            Work::Block(block) => {
                decoded_blocks.push(decode_block(&block, max_record_bytes, redactor, &mut gathering));
                read_ahead.give_back(block.bytes.len() as u64);
                gathering.write_full(&mut writer, BATCH_ROWS)?;
                // Blobs come hour by hour, so an old date rarely gets more rows: write it out
                // rather than hold it, which bounds memory by a few dates' worth of rows.
                gathering.write_oldest(&mut writer, MAX_DATES_GATHERED)?;
                if decoded_blocks.len() >= BLOCKS_PER_REPORT {
                    report(&mut decoded_blocks)?;
                }
            }
            Work::Flush => {
                gathering.write_oldest(&mut writer, 0)?;
                let files = writer.finish()?;
                // Every block before the flush reaches the sink before it: a commit waits
                // for all the blocks it counted, and the reader flushes every worker first.
                report(&mut decoded_blocks)?;
                sink.send(Message::Flushed(files)).map_err(|_| stopped())?;
            }
        }
    }
    report(&mut decoded_blocks)
}

/// Decodes one block, appending its events to `gathering` by date.
///
/// Every record is redacted before it is decoded or quarantined, so no credential found in
/// it reaches a row, a `raw` column or a quarantine file. A record that does not decode is
/// redacted again without regard to JSON strings (its structure is not to be trusted).
pub fn decode_block(
    block: &Block,
    max_record_bytes: usize,
    redactor: &Redactor,
    gathering: &mut Gathering,
) -> DecodedBlock {
    let mut quarantined = Vec::new();
    let mut records = 0u64;
    let mut redacted_records = 0u64;
    let mut redactions: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut count = |patterns: &[Pattern]| {
        if !patterns.is_empty() {
            redacted_records += 1;
        }
        for p in patterns {
            *redactions.entry(p.as_str()).or_default() += 1;
        }
    };
    let source = &*block.source;
    // One block is one source's bytes: its records repeat one `resourceId`.
    let mut decoder = record::Decoder::default();
    // `length` is the source's, `bytes` the redacted record's.
    let quarantine = |offset: u64, length: usize, bytes: &[u8], reason: String| QuarantineEntry {
        source: source.to_string(),
        offset,
        length: length as u64,
        reason,
        bytes: Some(bytes.to_vec()),
        raw_file: None,
    };
    // A unit that is not a record: redacted wherever a pattern matches.
    let unparsed = |bytes: &[u8], count: &mut dyn FnMut(&[Pattern])| -> Vec<u8> {
        let (clean, patterns) = redactor.redact_anywhere(bytes);
        count(&patterns);
        clean.into_owned()
    };
    let framed = frame(&block.bytes, block.base, block.last, |unit| match unit {
        Unit::Record { offset, bytes } if bytes.len() > max_record_bytes => {
            let clean = unparsed(bytes, &mut count);
            quarantined.push(quarantine(
                offset,
                bytes.len(),
                &clean,
                format!("record of {} bytes is larger than the {max_record_bytes} byte limit", bytes.len()),
            ))
        }
        Unit::Record { offset, bytes } => {
            let redacted = redactor.redact(bytes);
            match decoder.decode(&redacted.bytes) {
                Ok(mut event) => {
                    count(&redacted.patterns());
                    event.redactions = redacted.column();
                    gathering.builder(date_of(event.time_us)).append(&event, source, offset, &block.bytes);
                    records += 1;
                }
                Err(e) => {
                    let reason = e.to_string();
                    let (clean, mut patterns) = redactor.redact_anywhere(&redacted.bytes);
                    patterns.extend(redacted.patterns());
                    count(&patterns);
                    quarantined.push(quarantine(offset, bytes.len(), &clean, reason))
                }
            }
        }
        Unit::Broken { offset, bytes, reason } => {
            let clean = unparsed(bytes, &mut count);
            quarantined.push(quarantine(offset, bytes.len(), &clean, reason))
        }
    });
    let mut consumed = framed.consumed;
    let mut pending_bytes = 0;
    if framed.rest != Rest::None {
        if block.last {
            pending_bytes = (block.bytes.len() - consumed) as u64;
        } else {
            // Only the last block may end mid-unit: a block the reader cut at a newline that
            // still holds an unfinished document holds a broken one.
            let rest = &block.bytes[consumed..];
            let clean = unparsed(rest, &mut count);
            quarantined.push(quarantine(
                block.base + consumed as u64,
                rest.len(),
                &clean,
                "JSON document that does not end before the next lines".to_string(),
            ));
            consumed = block.bytes.len();
        }
    }
    let prefix_crc64 = match block.crc64 {
        BlockCrc::Unknown => None,
        BlockCrc::Before(crc) => Some(crc64::extend(crc, &block.bytes[..consumed])),
        BlockCrc::Through(crc) => {
            debug_assert_eq!(consumed, block.bytes.len(), "only the last block of a read ends mid-line");
            Some(crc)
        }
    };
    DecodedBlock {
        source: Arc::clone(&block.source),
        consumed_to: block.base + consumed as u64,
        length: block.length,
        fingerprint: block.fingerprint.clone(),
        prefix_crc64,
        pending_bytes,
        records,
        quarantined,
        redacted_records,
        redactions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_days_of_the_record_time() {
        let t = crate::record::time::parse_micros("2024-04-03T23:59:59.9999999Z").unwrap();
        assert_eq!(date_of(t), NaiveDate::from_ymd_opt(2024, 4, 3).unwrap());
        assert_eq!(date_of(t + 1), NaiveDate::from_ymd_opt(2024, 4, 4).unwrap());
        assert_eq!(date_of(-1), NaiveDate::from_ymd_opt(1969, 12, 31).unwrap());
    }
}

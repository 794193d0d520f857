//! TensorBoard event files.
//!
//! tensorboard-rs frames records and builds summaries well, but its `SummaryWriter` writes
//! from a background thread that panics on any I/O error, and it leaves text and HParams
//! unimplemented. This writer uses the crate's record framing ([`RecordWriter`]) and
//! protobuf types synchronously, so a full disk or an unwritable directory is an `io::Error`
//! the caller turns into a failed trial; the submodules build the summaries TensorBoard's
//! plugins read: [`hparams`] (the HParams dashboard), [`text`], [`image`] and [`histogram`].
//! It knows nothing of burnlab's experiments: `runner::tensorboard` maps them onto it.

pub mod histogram;
pub mod hparams;
pub mod image;
pub mod text;

use protobuf::Message;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use tensorboard_proto::event::Event;
use tensorboard_proto::summary::{Summary, Summary_Value, SummaryMetadata, SummaryMetadata_PluginData};
use tensorboard_proto::tensor::TensorProto;
use tensorboard_rs::record_writer::RecordWriter;

/// The prefix of every event file name; TensorBoard only reads files named so.
pub const EVENT_FILE_PREFIX: &str = "events.out.tfevents.";

/// Writes one `events.out.tfevents.*` file.
///
/// Every method returns the I/O error instead of panicking. After a failed write the file
/// may end in a partial record, so the writer refuses further writes (each returns an error)
/// rather than append records TensorBoard could not frame.
pub struct EventWriter {
    path: PathBuf,
    writer: RecordWriter<BufWriter<Box<dyn Write + Send>>>,
    failed: bool,
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl EventWriter {
    /// Creates a new event file in `dir` (created if missing).
    pub fn create(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let host = gethostname();
        let name = format!("{EVENT_FILE_PREFIX}{:010}.{host}.{}.0", now() as u64, std::process::id());
        let path = dir.join(name);
        let file = File::create(&path)?;
        Self::with_writer(path, file)
    }

    /// Writes an event stream to `sink` (named `path` in errors and by [`EventWriter::path`]).
    ///
    /// Writes the file-version header and flushes it, so a sink that cannot be written
    /// (e.g. `/dev/full`) fails here.
    pub fn with_writer(path: PathBuf, sink: impl Write + Send + 'static) -> io::Result<Self> {
        let sink: Box<dyn Write + Send> = Box::new(sink);
        let mut w = EventWriter { path, writer: RecordWriter::new(BufWriter::new(sink)), failed: false };
        let mut ev = Event::new();
        ev.set_wall_time(now());
        ev.set_file_version("brain.Event:2".to_string());
        w.write_event(&ev)?;
        w.flush()?;
        Ok(w)
    }

    /// The event file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a scalar summary.
    pub fn scalar(&mut self, tag: &str, value: f32, step: usize) -> io::Result<()> {
        self.summary(tensorboard_rs::summary::scalar(tag, value), step)
    }

    /// Appends a text summary (Markdown, shown by the Text dashboard).
    pub fn text(&mut self, tag: &str, markdown: &str, step: usize) -> io::Result<()> {
        self.summary(text::summary(tag, markdown), step)
    }

    /// Appends an RGB image: `pixels` is row-major `height × width × 3` bytes (HWC).
    pub fn image_rgb(&mut self, tag: &str, pixels: &[u8], height: usize, width: usize, step: usize) -> io::Result<()> {
        self.summary(image::summary(tag, pixels, height, width, image::Channels::Rgb)?, step)
    }

    /// Appends a grayscale image: `pixels` is row-major `height × width` bytes.
    pub fn image_gray(&mut self, tag: &str, pixels: &[u8], height: usize, width: usize, step: usize) -> io::Result<()> {
        self.summary(image::summary(tag, pixels, height, width, image::Channels::Gray)?, step)
    }

    /// Appends a histogram of `values` ([`histogram::DEFAULT_BUCKETS`] equal-width buckets;
    /// NaN and infinite values are left out).
    pub fn histogram(&mut self, tag: &str, values: &[f32], step: usize) -> io::Result<()> {
        self.summary(histogram::summary(tag, values, histogram::DEFAULT_BUCKETS), step)
    }

    /// Appends any summary at `step`.
    pub fn summary(&mut self, summary: Summary, step: usize) -> io::Result<()> {
        let mut ev = Event::new();
        ev.set_wall_time(now());
        ev.set_step(step as i64);
        ev.set_summary(summary);
        self.write_event(&ev)
    }

    /// Appends an event record as it was read from another event file ([`read_events`]).
    pub fn raw_event(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.check()?;
        let r = self.writer.write(bytes);
        self.failed = r.is_err();
        r
    }

    fn write_event(&mut self, ev: &Event) -> io::Result<()> {
        self.check()?;
        let bytes = ev.write_to_bytes().map_err(io::Error::other)?;
        let r = self.writer.write(&bytes);
        self.failed = r.is_err();
        r
    }

    /// Flushes buffered records to disk.
    pub fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        let r = self.writer.flush();
        self.failed = r.is_err();
        r
    }

    fn check(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("the event file is unusable after an earlier write error"));
        }
        Ok(())
    }
}

/// The events of an event file, each as its serialised bytes and parsed, in file order. A
/// file cut short (its writer was killed) ends at its last complete record; record checksums
/// are not verified.
///
/// # Errors
/// The file cannot be read.
pub fn read_events(path: &Path) -> io::Result<Vec<(Vec<u8>, Event)>> {
    let bytes = std::fs::read(path)?;
    let mut events = Vec::new();
    let mut at = 0;
    // A record: length (u64, little-endian), its checksum (u32), the data, its checksum (u32).
    while at + 12 <= bytes.len() {
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes")) as usize;
        let start = at + 12;
        let Some(end) = start.checked_add(len).filter(|e| e + 4 <= bytes.len()) else { break };
        let Ok(event) = Event::parse_from_bytes(&bytes[start..end]) else { break };
        events.push((bytes[start..end].to_vec(), event));
        at = end + 4;
    }
    Ok(events)
}

fn gethostname() -> String {
    // The host name goes into the event file's name: keep it to safe characters.
    crate::fsutil::hostname()
        .filter(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        .unwrap_or_else(|| "localhost".into())
}

/// A summary of one value tagged `tag`: `tensor`, with the metadata naming the plugin
/// (`plugin_name`) that reads it and that plugin's serialised data (`content`).
pub(crate) fn plugin_summary(tag: &str, plugin_name: &str, content: Vec<u8>, tensor: TensorProto) -> Summary {
    let mut plugin = SummaryMetadata_PluginData::new();
    plugin.set_plugin_name(plugin_name.to_string());
    plugin.set_content(content);
    let mut metadata = SummaryMetadata::new();
    metadata.set_plugin_data(plugin);
    let mut value = Summary_Value::new();
    value.set_tag(tag.to_string());
    value.set_metadata(metadata);
    value.set_tensor(tensor);
    let mut summary = Summary::new();
    summary.set_value(protobuf::RepeatedField::from_vec(vec![value]));
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Accepts `budget` bytes, then fails every write like a full disk.
    struct FillsUp {
        budget: usize,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for FillsUp {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut w = self.written.lock().unwrap();
            let room = self.budget - w.len();
            if room == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "No space left on device"));
            }
            let n = room.min(buf.len());
            w.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn record_lengths(bytes: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let n = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            out.push(n);
            at += 16 + n;
        }
        assert_eq!(at, bytes.len(), "records end exactly at the end of the file");
        out
    }

    #[test]
    fn unwritable_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        assert!(EventWriter::create(&blocker.join("sub")).is_err());
        assert!(EventWriter::create(&blocker).is_err(), "a file where the directory should be");
    }

    #[test]
    fn writes_framed_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path()).unwrap();
        w.scalar("train/loss", 1.5, 3).unwrap();
        w.text("notes", "*hello*", 0).unwrap();
        w.histogram("weights", &[1.0, 2.0, 3.0], 3).unwrap();
        w.image_gray("img", &[0, 255, 0, 255], 2, 2, 3).unwrap();
        w.flush().unwrap();
        let name = w.path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(EVENT_FILE_PREFIX), "{name}");
        let bytes = std::fs::read(w.path()).unwrap();
        assert_eq!(record_lengths(&bytes).len(), 5);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_device_is_an_error_when_created() {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let err = EventWriter::with_writer("/dev/full".into(), full).err().expect("writing to /dev/full fails");
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
    }

    #[test]
    fn a_disk_that_fills_up_gives_errors_and_no_partial_records_after() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = FillsUp { budget: 200, written: written.clone() };
        let mut w = EventWriter::with_writer("sink".into(), sink).unwrap();
        let mut first_error = None;
        for step in 0..100 {
            let r = w.scalar("train/loss", 0.5, step).and_then(|_| w.flush());
            if let Err(e) = r {
                first_error = Some((step, e));
                break;
            }
        }
        let (step, e) = first_error.expect("the sink fills up");
        assert!(step > 0, "some records fit before the disk is full");
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        // Later writes are refused rather than appended after a partial record.
        let later = w.scalar("train/loss", 0.5, 1000).unwrap_err();
        assert!(later.to_string().contains("earlier write error"), "{later}");
        assert!(w.flush().is_err());
        assert!(w.text("t", "x", 0).is_err());
        assert_eq!(written.lock().unwrap().len(), 200);
    }

    #[test]
    fn invalid_images_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path()).unwrap();
        let e = w.image_rgb("img", &[0; 11], 2, 2, 0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        // The writer is still usable: nothing was written.
        w.image_rgb("img", &[0; 12], 2, 2, 0).unwrap();
    }
}

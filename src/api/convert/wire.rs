//! A GetProject answer written straight from the project's packed row in the read model to
//! protobuf bytes: one pass, the texts copied once from the table, nothing allocated but the
//! answer. Through `encode::project` and prost, the same answer unpacked the project (every
//! text and list allocated, every text checked as UTF-8), allocated every text a second time,
//! measured every nested message once per level above it and freed it all again
//! (docs/BENCHMARKS.md, issue 21). The bytes are prost's for `encode::project`, field for
//! field: the property test below packs random projects, writes them from their rows and holds
//! the bytes equal, so a field added to the proto fails here until it is packed and written.

use chrono::Datelike as _;
use rust_decimal::Decimal;

use super::encode::{Answers, GetAnswer, enum_value, units_and_nanos};
use crate::api::encoded::EncodedProject;
use crate::domain::{self, Etag, Labelled, ResourceName};
use crate::query::model::{Line, ProjectRow, ProjectTable, with_project_row};

impl GetAnswer for domain::Project {
    type Answer = EncodedProject;

    /// Written as the tables' projects are: packed alone, then written from its row. Only a
    /// project read from the change log takes this way, and the property test below.
    fn get_answer(&self) -> EncodedProject {
        with_project_row(self, |row| answer(&self.name, row))
    }
}

impl Answers<domain::Project> for ProjectTable {
    fn answer(&self, name: &ResourceName) -> Option<EncodedProject> {
        self.row(name).map(|row| answer(name, row))
    }
}

/// The GetProject answer for the project `name` whose packed row is `row`.
pub fn answer(name: &ResourceName, row: ProjectRow) -> EncodedProject {
    // The project is written after room for its key and length, which are known only at its
    // end and then written just before it: a project is longer than a one-byte length, and
    // making room in front afterwards moved every byte of it.
    let mut wire = Wire(Vec::with_capacity(ROOM + capacity(&row)));
    wire.0.resize(ROOM, 0);
    project(&mut wire, name, row);
    let (len, len_bytes) = varint_array((wire.0.len() - ROOM) as u64);
    let start = ROOM - 1 - len_bytes;
    wire.0[start] = (1 << 3 | LENGTH_DELIMITED) as u8;
    wire.0[start + 1..ROOM].copy_from_slice(&len[..len_bytes]);
    EncodedProject::from_bytes_after(wire.0, start)
}

/// Room for `GetProjectResponse.project`'s key (one byte) and length (at most five).
const ROOM: usize = 6;

/// Bytes that hold the answer but for a rare long currency: when the buffer grew while being
/// written, moving it cost about 600 instructions of a GetProject's 69,000.
fn capacity(row: &ProjectRow) -> usize {
    let provenance = &row.provenance;
    let texts = row.title.len()
        + row.description.len()
        + provenance.source_title.len()
        + provenance.publisher.len()
        + provenance.source_uri.len()
        + provenance.quoted_passage.len()
        + provenance.note.len();
    let items = row.recipients.len() + row.outputs.len() + row.funding_lines.len();
    FIXED_BYTES + texts + items * ITEM_BYTES
}

/// What a project's answer holds besides its texts and lists: three names of at most 76 bytes,
/// six dates, two times, the etag and the fields' keys and lengths.
const FIXED_BYTES: usize = 512;

/// The most a recipient, output or funding line takes (a name of at most 76 bytes and a decimal
/// of at most 31 characters; three dates and money in a three-letter currency), with keys and
/// lengths.
const ITEM_BYTES: usize = 128;

/// `pairing.v1.Project`'s fields, by their numbers in `project.proto`.
fn project(w: &mut Wire, name: &ResourceName, row: ProjectRow) {
    w.text(1, name.as_str().as_bytes());
    w.text(2, row.title);
    w.text(3, row.description);
    w.text(4, row.pairing.map_or(&b""[..], |p| p.as_str().as_bytes()));
    w.text(5, row.party.as_str().as_bytes());
    for recipient in row.recipients {
        w.message(6, |w| {
            w.text(1, recipient.area.as_str().as_bytes());
            w.decimal(2, recipient.share_percent.get());
        });
    }
    w.enumeration(7, row.field);
    w.boolean(8, row.livelihood);
    w.enumeration(9, row.status);
    w.date(10, row.planned_start_date.parts());
    w.date(11, row.planned_end_date.parts());
    w.date(12, row.actual_start_date.parts());
    w.date(13, row.actual_end_date.parts());
    for output in row.outputs {
        w.message(14, |w| {
            w.text(1, output.indicator.as_str().as_bytes());
            w.decimal(2, output.value.get());
        });
    }
    for line in row.funding_lines {
        w.message(15, |w| funding_line(w, &line));
    }
    w.enumeration(16, row.data_status);
    w.message(17, |w| provenance(w, row.provenance));
    w.text(18, Etag::of(row.revision).as_str().as_bytes());
    w.integer(19, row.revision);
    w.time(20, row.create_time.parts());
    w.time(21, row.update_time.parts());
}

fn funding_line(w: &mut Wire, line: &Line) {
    w.enumeration(1, line.funding_type);
    w.integer(2, i64::from(line.year));
    w.date(3, line.date.parts());
    // google.type.Money
    w.message(4, |w| {
        let (units, nanos) = units_and_nanos(line.amount.get());
        w.text(1, line.currency);
        w.integer(2, units);
        w.integer(3, i64::from(nanos));
    });
    w.date(5, line.value_date.parts());
}

fn provenance(w: &mut Wire, value: &domain::Provenance) {
    w.text(1, value.source_title.as_bytes());
    w.text(2, value.publisher.as_bytes());
    w.date(
        3,
        value.publish_date.map(|d| (d.year(), d.month(), d.day())),
    );
    w.text(4, value.source_uri.as_bytes());
    w.text(5, value.quoted_passage.as_bytes());
    w.text(6, value.note.as_bytes());
}

/// The wire types of the protobuf encoding this writer uses.
const VARINT: u32 = 0;
const LENGTH_DELIMITED: u32 = 2;

/// Protobuf bytes being written. Fields at their default value are left out and messages
/// that are set are written even when empty, as prost does for proto3.
struct Wire(Vec<u8>);

impl Wire {
    /// A string field: the bytes of a `str`, or of a text the read model holds.
    fn text(&mut self, field: u32, value: &[u8]) {
        if !value.is_empty() {
            self.key(field, LENGTH_DELIMITED);
            self.varint(value.len() as u64);
            self.0.extend_from_slice(value);
        }
    }

    /// A string field holding `value` as `value.normalize().to_string()` shows it (as
    /// `encode` sends decimals): its digits without trailing zeros after the point, a minus
    /// sign unless it is zero. By hand: through `fmt` each decimal cost a few hundred
    /// instructions.
    fn decimal(&mut self, field: u32, value: Decimal) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(value.mantissa().unsigned_abs()).as_bytes();
        let scale = value.scale() as usize;
        let zeros = digits.iter().rev().take(scale).take_while(|&&d| d == b'0');
        let (digits, scale) = if value.is_zero() {
            (&b"0"[..], 0)
        } else {
            let zeros = zeros.count();
            (&digits[..digits.len() - zeros], scale - zeros)
        };
        self.message(field, |w| {
            if value.is_sign_negative() && !value.is_zero() {
                w.0.push(b'-');
            }
            if scale == 0 {
                w.0.extend_from_slice(digits);
            } else if digits.len() > scale {
                let (whole, fraction) = digits.split_at(digits.len() - scale);
                w.0.extend_from_slice(whole);
                w.0.push(b'.');
                w.0.extend_from_slice(fraction);
            } else {
                w.0.extend_from_slice(b"0.");
                w.0.resize(w.0.len() + scale - digits.len(), b'0');
                w.0.extend_from_slice(digits);
            }
        });
    }

    fn enumeration<E: Labelled>(&mut self, field: u32, value: E) {
        self.integer(field, i64::from(enum_value(value)));
    }

    fn boolean(&mut self, field: u32, value: bool) {
        self.integer(field, i64::from(value));
    }

    /// A `google.type.Date` of this year, month and day, if set.
    fn date(&mut self, field: u32, value: Option<(i32, u32, u32)>) {
        let Some((year, month, day)) = value else {
            return;
        };
        // The dates of the record (years 128 to 16,383, two bytes each; a month and a day of one
        // byte) are nine bytes long, written at once: a GetProject writes nine of them.
        if field < 16
            && (128..16_384).contains(&year)
            && (1..128).contains(&month)
            && (1..128).contains(&day)
        {
            self.0.extend_from_slice(&[
                (field << 3 | LENGTH_DELIMITED) as u8,
                7,
                1 << 3 | VARINT as u8,
                year as u8 | 0x80,
                (year >> 7) as u8,
                2 << 3 | VARINT as u8,
                month as u8,
                3 << 3 | VARINT as u8,
                day as u8,
            ]);
        } else {
            let mut date = Short::field(field);
            date.integer(1, i64::from(year));
            date.integer(2, i64::from(month));
            date.integer(3, i64::from(day));
            self.short(date);
        }
    }

    /// A `google.protobuf.Timestamp` of these seconds and nanoseconds, if set.
    fn time(&mut self, field: u32, value: Option<(i64, u32)>) {
        if let Some((seconds, nanos)) = value {
            let mut time = Short::field(field);
            time.integer(1, seconds);
            time.integer(2, i64::from(nanos as i32));
            self.short(time);
        }
    }

    /// A message field written on the stack: all its room is copied, a copy of a known size
    /// made in a few moves, and what it did not use is cut off again.
    fn short(&mut self, mut message: Short) {
        message.bytes[message.length_at] = (message.len - message.length_at - 1) as u8;
        let unused = message.bytes.len() - message.len;
        self.0.extend_from_slice(&message.bytes);
        self.0.truncate(self.0.len() - unused);
    }

    /// A message field, or any field of bytes `write` appends, its length written before them
    /// once known: one byte is kept for it, and the rare longer length moves what follows.
    fn message(&mut self, field: u32, write: impl FnOnce(&mut Wire)) {
        self.key(field, LENGTH_DELIMITED);
        let at = self.0.len();
        self.0.push(0);
        write(self);
        let len = self.0.len() - at - 1;
        if len < 0x80 {
            self.0[at] = len as u8;
        } else {
            let (prefix, prefix_len) = varint_array(len as u64);
            self.0.splice(at..=at, prefix[..prefix_len].iter().copied());
        }
    }
}

impl Out for Wire {
    fn push(&mut self, byte: u8) {
        self.0.push(byte);
    }
}

/// A short message field (a date or a time: two or three integers) written on the stack, to
/// be copied into the answer at once: the answer's length and capacity are then checked once
/// for it, not once a byte.
struct Short {
    /// Room for a key of two bytes (fields up to 2,047), a length of one, and two integers of
    /// ten bytes with their keys or three of which two (a month and a day) take one byte.
    bytes: [u8; 25],
    len: usize,
    /// Where the length goes, once known: at most 22 bytes follow it, a one-byte length.
    length_at: usize,
}

impl Short {
    /// A message field numbered `field`, its fields to be written.
    fn field(field: u32) -> Short {
        let mut short = Short {
            bytes: [0; 25],
            len: 0,
            length_at: 0,
        };
        short.key(field, LENGTH_DELIMITED);
        short.length_at = short.len;
        short.len += 1;
        short
    }
}

impl Out for Short {
    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }
}

/// Where protobuf bytes are written, a byte at a time.
trait Out {
    fn push(&mut self, byte: u8);

    fn key(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from(field << 3 | wire_type));
    }

    fn varint(&mut self, value: u64) {
        varint(value, |byte| self.push(byte));
    }

    /// An int32 or int64 field: negative values take ten bytes, as they do in prost.
    fn integer(&mut self, field: u32, value: i64) {
        if value != 0 {
            self.key(field, VARINT);
            self.varint(value as u64);
        }
    }
}

/// `value` as a varint, in the first of ten bytes on the stack (a `Vec` for these few bytes
/// cost an allocation), and how many.
fn varint_array(value: u64) -> ([u8; 10], usize) {
    let (mut bytes, mut len) = ([0; 10], 0);
    varint(value, |byte| {
        bytes[len] = byte;
        len += 1;
    });
    (bytes, len)
}

/// `value` as a varint, byte by byte: seven bits a byte, least significant first. Inlined
/// here, where prost's writes through `BufMut` a byte at a time.
fn varint(mut value: u64, mut push: impl FnMut(u8)) {
    while value >= 0x80 {
        push(value as u8 | 0x80);
        value >>= 7;
    }
    push(value as u8);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{DateTime, NaiveDate, TimeZone, Utc};
    use pairing_aid_client::v1 as pb;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::*;
    use crate::api::convert::encode;
    use crate::domain::{
        Collection, DataStatus, FundingType, Meta, Money, ProjectOutput, ProjectStatus, Provenance,
        RecipientArea, ResourceName, SupportField,
    };

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[a-z ]{1,20}",
            // Lengths that take two and three bytes to write.
            any::<String>(),
            "[A-Za-z\u{4e00}-\u{4e20} ]{100,300}",
            "x{16380,16400}",
        ]
    }

    fn name(collection: Collection) -> impl Strategy<Value = ResourceName> {
        "[a-z][a-z0-9-]{0,62}".prop_map(move |id| {
            ResourceName::parse(
                collection,
                &format!("{}/{id}", collection.segment()),
                "name",
            )
            .unwrap()
        })
    }

    fn decimal() -> impl Strategy<Value = Decimal> {
        (any::<i128>(), 0u32..=28).prop_map(|(mantissa, scale)| {
            Decimal::from_i128_with_scale(mantissa % (1i128 << 96), scale)
        })
    }

    fn day() -> impl Strategy<Value = Option<NaiveDate>> {
        proptest::option::of(
            (-3000i32..3000, 1u32..=366)
                .prop_filter_map("a day", |(y, d)| NaiveDate::from_yo_opt(y, d)),
        )
    }

    fn time() -> impl Strategy<Value = Option<DateTime<Utc>>> {
        proptest::option::of(
            (-10_000_000_000i64..10_000_000_000, 0u32..1_000_000_000)
                .prop_filter_map("a time", |(s, n)| Utc.timestamp_opt(s, n).single()),
        )
    }

    fn variant<E: Labelled + Copy + std::fmt::Debug + 'static>() -> impl Strategy<Value = E> {
        proptest::sample::select(E::ALL)
    }

    fn provenance() -> impl Strategy<Value = Provenance> {
        (text(), text(), day(), text(), text(), text()).prop_map(
            |(source_title, publisher, publish_date, source_uri, quoted_passage, note)| {
                Provenance {
                    source_title,
                    publisher,
                    publish_date,
                    source_uri,
                    quoted_passage,
                    note,
                }
            },
        )
    }

    fn funding_line() -> impl Strategy<Value = domain::FundingLine> {
        (
            variant::<FundingType>(),
            any::<i32>(),
            day(),
            prop_oneof![Just("CNY".to_owned()), text()],
            decimal(),
            day(),
        )
            .prop_map(|(funding_type, year, date, currency, amount, value_date)| {
                domain::FundingLine {
                    funding_type,
                    year,
                    date,
                    amount: Money { currency, amount },
                    value_date,
                }
            })
    }

    fn project() -> impl Strategy<Value = domain::Project> {
        (
            (
                name(Collection::Projects),
                text(),
                text(),
                proptest::option::of(name(Collection::Pairings)),
                name(Collection::Parties),
            ),
            (
                prop::collection::vec(
                    (name(Collection::Areas), decimal()).prop_map(|(area, share_percent)| {
                        RecipientArea {
                            area,
                            share_percent,
                        }
                    }),
                    0..4,
                ),
                variant::<SupportField>(),
                any::<bool>(),
                variant::<ProjectStatus>(),
                (day(), day(), day(), day()),
            ),
            (
                prop::collection::vec(
                    (name(Collection::Indicators), decimal())
                        .prop_map(|(indicator, value)| ProjectOutput { indicator, value }),
                    0..3,
                ),
                prop::collection::vec(funding_line(), 0..6),
                variant::<DataStatus>(),
                provenance(),
                (any::<i64>(), time(), time()),
            ),
        )
            .prop_map(
                |(
                    (name, title, description, pairing, party),
                    (recipients, field, livelihood, status, dates),
                    (outputs, funding_lines, data_status, provenance, (revision, created, updated)),
                )| domain::Project {
                    name,
                    title,
                    description,
                    pairing,
                    party,
                    recipients,
                    field,
                    livelihood,
                    status,
                    planned_start_date: dates.0,
                    planned_end_date: dates.1,
                    actual_start_date: dates.2,
                    actual_end_date: dates.3,
                    outputs,
                    funding_lines,
                    data_status,
                    provenance: Arc::new(provenance),
                    meta: Meta {
                        revision,
                        create_time: created,
                        update_time: updated,
                    },
                },
            )
    }

    proptest! {
        #[test]
        fn a_decimal_is_written_as_encode_shows_it(
            value in prop_oneof![
                decimal(),
                (0u32..=28).prop_map(|scale| Decimal::new(0, scale)),
                (0u32..=28).prop_map(|scale| -Decimal::new(0, scale)),
                (-10_000i64..10_000, 0u32..=6).prop_map(|(m, scale)| Decimal::new(m * 100, scale)),
            ]
        ) {
            let mut wire = Wire(Vec::new());
            wire.decimal(2, value);
            let through_prost = prost::Message::encode_to_vec(&pb::ProjectOutput {
                indicator: String::new(),
                value: value.normalize().to_string(),
            });
            prop_assert_eq!(wire.0, through_prost);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn a_project_is_written_as_prost_writes_its_message(project in project()) {
            let through_prost = prost::Message::encode_to_vec(&pb::GetProjectResponse {
                project: Some(encode::project(&project)),
            });
            let written = prost::Message::encode_to_vec(&project.get_answer());
            prop_assert_eq!(&written, &through_prost);
            // The buffer is sized once, except for a currency longer than a code.
            if project.funding_lines.iter().all(|line| line.amount.currency.len() <= 3) {
                let capacity = with_project_row(&project, |row| capacity(&row));
                prop_assert!(written.len() <= capacity, "{} > {capacity}", written.len());
            }
        }
    }
}

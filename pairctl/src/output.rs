//! Printing results as they arrive: an aligned table, JSON, YAML, CSV or names.

use clap::ValueEnum;
use pairing_aid_client::pb::google::r#type::Money;
use serde_json::Value;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people; amounts grouped, in the currency's minor units.
    Table,
    /// A JSON array (an object for a single resource); resources in protobuf JSON.
    Json,
    /// A YAML sequence (a mapping for a single resource), as JSON is.
    Yaml,
    /// Comma-separated values with a header line; amounts raw.
    Csv,
    /// The first column alone (a resource's name), one per line.
    Name,
}

/// The output options every command takes.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub format: Format,
    /// Whether tables and CSV start with a line of column names.
    pub headers: bool,
}

/// One cell of a row: text, or an amount, which people and programs read differently.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Money(Option<Money>),
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::Text(text)
    }
}

impl Cell {
    /// As a table shows it: `257,381,759.60 USD`.
    fn for_people(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Money(Some(money)) => grouped_amount(money),
            Cell::Money(None) => String::new(),
        }
    }

    /// As JSON, YAML and CSV carry it: `257381759.6 USD`, every digit the server sent.
    fn raw(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Money(Some(money)) => raw_amount(money),
            Cell::Money(None) => String::new(),
        }
    }
}

/// `units[.fraction] CURRENCY`, e.g. `2500000.5 CNY`: exact, for programs.
fn raw_amount(money: &Money) -> String {
    if money.nanos == 0 {
        return format!("{} {}", money.units, money.currency_code);
    }
    let fraction = format!("{:09}", money.nanos.unsigned_abs());
    let sign = if money.units == 0 && money.nanos < 0 {
        "-"
    } else {
        ""
    };
    format!(
        "{sign}{}.{} {}",
        money.units,
        fraction.trim_end_matches('0'),
        money.currency_code
    )
}

/// Digits after the point in `currency`'s minor unit (ISO 4217), 2 unless listed.
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// The amount rounded half away from zero to the currency's minor unit, thousands grouped:
/// `257,381,759.60 USD`, `-1,000 JPY`.
fn grouped_amount(money: &Money) -> String {
    let digits = minor_digits(&money.currency_code);
    let scale = 10i128.pow(digits);
    let nanos = i128::from(money.units) * 1_000_000_000 + i128::from(money.nanos);
    let step = 1_000_000_000 / scale;
    let minor = (nanos.abs() + step / 2) / step;
    let (whole, fraction) = (minor / scale, minor % scale);
    let whole = whole.to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if nanos < 0 && minor > 0 { "-" } else { "" };
    match digits {
        0 => format!("{sign}{grouped} {}", money.currency_code),
        _ => format!(
            "{sign}{grouped}.{fraction:0width$} {}",
            money.currency_code,
            width = digits as usize
        ),
    }
}

/// Something printed as one row, or as one JSON/YAML value.
pub trait Printable {
    /// The cells, in the order of the printer's columns.
    fn cells(&self) -> Vec<Cell>;
    /// The value JSON and YAML print; by default an object of the columns and raw cells.
    fn value(&self, columns: &[&str]) -> Value {
        Value::Object(
            columns
                .iter()
                .zip(self.cells())
                .map(|(column, cell)| (column.to_string(), Value::String(cell.raw())))
                .collect(),
        )
    }
}

impl Printable for Vec<Cell> {
    fn cells(&self) -> Vec<Cell> {
        self.clone()
    }
}

/// Prints batches of rows as they come (a listing's pages): the header once before the first,
/// a table's columns as wide as the first batch needs; nothing is held between batches.
pub struct Printer<'c> {
    output: Output,
    columns: &'c [&'c str],
    widths: Option<Vec<usize>>,
    printed: usize,
}

impl<'c> Printer<'c> {
    pub fn new(output: Output, columns: &'c [&'c str]) -> Self {
        Printer {
            output,
            columns,
            widths: None,
            printed: 0,
        }
    }

    /// Prints `items` after those printed before.
    pub fn batch<P: Printable>(&mut self, items: &[P]) -> Result<(), String> {
        let mut out = String::new();
        match self.output.format {
            Format::Table => self.table(items, &mut out),
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(Vec::new());
                if self.printed == 0 && self.output.headers {
                    writer
                        .write_record(self.columns)
                        .map_err(|e| e.to_string())?;
                }
                for item in items {
                    let cells: Vec<String> = item.cells().iter().map(Cell::raw).collect();
                    writer.write_record(&cells).map_err(|e| e.to_string())?;
                }
                let bytes = writer.into_inner().map_err(|e| e.to_string())?;
                out.push_str(&String::from_utf8(bytes).map_err(|e| e.to_string())?);
            }
            Format::Name => {
                for item in items {
                    if let Some(first) = item.cells().first() {
                        out.push_str(&first.raw());
                        out.push('\n');
                    }
                }
            }
            Format::Json => {
                for item in items {
                    out.push_str(if self.printed == 0 { "[\n" } else { ",\n" });
                    let text = serde_json::to_string_pretty(&item.value(self.columns))
                        .map_err(|e| e.to_string())?;
                    out.push_str(&text);
                    self.printed += 1;
                }
            }
            Format::Yaml => {
                if !items.is_empty() {
                    let values: Vec<Value> =
                        items.iter().map(|item| item.value(self.columns)).collect();
                    out.push_str(&serde_norway::to_string(&values).map_err(|e| e.to_string())?);
                }
            }
        }
        if !matches!(self.output.format, Format::Json) {
            self.printed += items.len();
        }
        write_stdout(&out)
    }

    /// Ends the output: closes a JSON array, says `[]` for nothing in JSON and YAML.
    pub fn finish(self) -> Result<(), String> {
        match (self.output.format, self.printed) {
            (Format::Json, 0) | (Format::Yaml, 0) => write_stdout("[]\n"),
            (Format::Json, _) => write_stdout("\n]\n"),
            (Format::Table, 0) if self.output.headers => {
                let mut out = String::new();
                self.header_line(&mut out);
                write_stdout(&out)
            }
            _ => Ok(()),
        }
    }

    fn table<P: Printable>(&mut self, items: &[P], out: &mut String) {
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|item| item.cells().iter().map(Cell::for_people).collect())
            .collect();
        if self.widths.is_none() {
            let mut widths: Vec<usize> = if self.output.headers {
                self.columns.iter().map(|c| c.len()).collect()
            } else {
                vec![0; self.columns.len()]
            };
            for row in &rows {
                for (width, cell) in widths.iter_mut().zip(row) {
                    *width = (*width).max(cell.chars().count());
                }
            }
            self.widths = Some(widths);
            if self.output.headers {
                self.header_line(out);
            }
        }
        for row in &rows {
            self.line(row.iter().map(String::as_str), out);
        }
    }

    fn header_line(&self, out: &mut String) {
        let names: Vec<String> = self.columns.iter().map(|c| c.to_uppercase()).collect();
        self.line(names.iter().map(String::as_str), out);
    }

    fn line<'a>(&self, cells: impl Iterator<Item = &'a str>, out: &mut String) {
        let widths = self.widths.as_deref().unwrap_or_default();
        let padded: Vec<String> = cells
            .enumerate()
            .map(|(i, cell)| {
                format!(
                    "{cell:<width$}",
                    width = widths.get(i).copied().unwrap_or(0)
                )
            })
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    }
}

/// Prints `rows` under `columns`, all at once.
pub fn print<P: Printable>(output: Output, columns: &[&str], rows: &[P]) -> Result<(), String> {
    let mut printer = Printer::new(output, columns);
    printer.batch(rows)?;
    printer.finish()
}

/// Prints one value (a single resource) as JSON or YAML: an object, not a sequence.
pub fn print_value(format: Format, value: &Value) -> Result<(), String> {
    let text = match format {
        Format::Yaml => serde_norway::to_string(value).map_err(|e| e.to_string())?,
        _ => format!(
            "{}\n",
            serde_json::to_string_pretty(value).map_err(|e| e.to_string())?
        ),
    };
    write_stdout(&text)
}

/// Writes `text` to standard output; a closed pipe (`pairctl ... | head`) ends it quietly.
pub fn write_stdout(text: &str) -> Result<(), String> {
    match std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.to_string()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(currency: &str, units: i64, nanos: i32) -> Money {
        Money {
            currency_code: currency.into(),
            units,
            nanos,
        }
    }

    #[test]
    fn tables_show_amounts_as_people_read_money_and_programs_get_every_digit() {
        let cases = [
            (
                money("USD", 257_381_759, 600_000_000),
                "257,381,759.60 USD",
                "257381759.6 USD",
            ),
            (
                money("CNY", 170_000_000_000, 0),
                "170,000,000,000.00 CNY",
                "170000000000 CNY",
            ),
            (money("JPY", -1_000, 0), "-1,000 JPY", "-1000 JPY"),
            (money("USD", 0, -5_000_000), "-0.01 USD", "-0.005 USD"),
            (money("KWD", 12, 345_600_000), "12.346 KWD", "12.3456 KWD"),
            (
                money("CNY", 999, 995_000_000),
                "1,000.00 CNY",
                "999.995 CNY",
            ),
            (money("USD", 0, 0), "0.00 USD", "0 USD"),
        ];
        for (amount, people, raw) in cases {
            let cell = Cell::Money(Some(amount));
            assert_eq!(
                (cell.for_people().as_str(), cell.raw().as_str()),
                (people, raw)
            );
        }
    }
}

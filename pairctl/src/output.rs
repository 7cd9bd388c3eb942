//! Printing rows as an aligned table, JSON or CSV.

use clap::ValueEnum;
use serde_json::Value;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON array (or object for a single resource).
    Json,
    /// Comma-separated values with a header line.
    Csv,
}

/// Prints `rows` under `columns` in `format`.
pub fn print(format: Format, columns: &[&str], rows: &[Vec<String>]) -> Result<(), String> {
    write_stdout(&render(format, columns, rows)?)
}

/// Writes `text` to standard output; a closed pipe (`pairctl ... | head`) ends it quietly.
pub fn write_stdout(text: &str) -> Result<(), String> {
    match std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.to_string()),
        _ => Ok(()),
    }
}

fn render(format: Format, columns: &[&str], rows: &[Vec<String>]) -> Result<String, String> {
    let mut out = String::new();
    match format {
        Format::Table => {
            let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
            for row in rows {
                for (width, cell) in widths.iter_mut().zip(row) {
                    *width = (*width).max(cell.chars().count());
                }
            }
            let mut line = |cells: Vec<&str>| {
                let padded: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                out.push_str(padded.join("  ").trim_end());
                out.push('\n');
            };
            line(
                columns
                    .iter()
                    .map(|c| c.to_uppercase())
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str)
                    .collect(),
            );
            for row in rows {
                line(row.iter().map(String::as_str).collect());
            }
        }
        Format::Json => {
            let objects: Vec<Value> = rows
                .iter()
                .map(|row| {
                    Value::Object(
                        columns
                            .iter()
                            .zip(row)
                            .map(|(c, v)| (c.to_string(), Value::String(v.clone())))
                            .collect(),
                    )
                })
                .collect();
            out.push_str(&serde_json::to_string_pretty(&objects).map_err(|e| e.to_string())?);
            out.push('\n');
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(columns).map_err(|e| e.to_string())?;
            for row in rows {
                writer.write_record(row).map_err(|e| e.to_string())?;
            }
            let bytes = writer.into_inner().map_err(|e| e.to_string())?;
            out.push_str(&String::from_utf8(bytes).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

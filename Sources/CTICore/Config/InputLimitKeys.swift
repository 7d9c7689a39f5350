/// Limits on what the tools read from files they do not control.
package enum InputLimitKeys {
  /// The largest diode file or backup file read (`--max-file-bytes`); default
  /// `FileSystem.defaultMaxFileBytes`.
  package static let maxFileBytes = Setting(env: "CTI_MAX_FILE_BYTES", key: "cti.max_file_bytes")
}

/// The toolkit's version, shown by every tool's `--version`.
package enum CTIVersion {
  package static let current = "0.1.0"
}

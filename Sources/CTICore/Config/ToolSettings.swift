/// What every tool's resolved settings give the entry point: each tool's `…Settings` type
/// conforms, resolved once from its flags and the configuration.
package protocol ToolSettings: Sendable {
  /// Notes met while resolving (a deprecated name, an entry that does not parse), logged as
  /// warnings before the run starts.
  var warnings: [String] { get }
}

extension ToolSettings {
  package var warnings: [String] { [] }
}

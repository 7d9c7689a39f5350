/// The OpenCTI extension that carries platform fields such as its internal `id`, `created_at`
/// and `files`.
package let openCTIExtensionID = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"
/// The extension OpenCTI puts on cyber observables (it may carry `created_at` too).
package let openCTIObservableExtensionID = "extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82"

extension RawObject {
  /// The ids this STIX object references through its top-level `*_ref` and `*_refs` keys, in
  /// key order. `includingCustom: false` leaves out custom `x_` keys, as restore-files does.
  package func references(includingCustom: Bool = true) -> [String] {
    var result: [String] = []
    for member in members where includingCustom || !member.key.hasPrefix("x_") {
      if member.key.hasSuffix("_ref") {
        if let id = string(member.key) { result.append(id) }
      } else if member.key.hasSuffix("_refs") {
        result.append(contentsOf: stringArray(member.key) ?? [])
      }
    }
    return result
  }
}

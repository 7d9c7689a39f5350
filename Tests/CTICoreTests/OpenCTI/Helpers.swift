@testable import CTICore

/// A STIX object line for tests: `type--<uuid with the given number>` plus extra members.
func stixId(_ type: String, _ number: Int) -> String {
  let digits = String(number)
  return "\(type)--00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
}

func stixObject(_ type: String, _ number: Int, _ extra: String = "") -> String {
  "{\"type\":\"\(type)\",\"spec_version\":\"2.1\",\"id\":\"\(stixId(type, number))\"\(extra.isEmpty ? "" : "," + extra)}"
}

func raw(_ text: String) throws -> RawObject { try RawObject(Array(text.utf8)) }

func staged(_ text: String, line: Int = 1) throws -> StagedObject { try StagedObject(raw(text), line: line) }

func ids(_ objects: [StagedObject]) -> [String] { objects.map(\.id) }

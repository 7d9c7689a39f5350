// Parse + serialize throughput of CTICore's JSON against Foundation's JSONSerialization, over
// every line of an NDJSON file. Run by scripts/bench/json.sh, which adds CPython's figure.
import CTICore
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3, let data = FileManager.default.contents(atPath: arguments[2]) else {
  FileHandle.standardError.write(Data("usage: json-bench cti|foundation FILE\n".utf8))
  exit(64)
}
let bytes = [UInt8](data)
var lines: [[UInt8]] = []
var start = 0
for (index, byte) in bytes.enumerated() where byte == 0x0A {
  lines.append(Array(bytes[start..<index]))
  start = index + 1
}

let clock = ContinuousClock()
var produced = 0
let elapsed = try clock.measure {
  switch arguments[1] {
  case "cti":
    for line in lines {
      let value = try JSONParser.parse(line)
      produced += JSONWriter.serialize(value).count
    }
  case "foundation":
    for line in lines {
      let value = try JSONSerialization.jsonObject(with: Data(line))
      produced += try JSONSerialization.data(withJSONObject: value).count
    }
  default:
    exit(64)
  }
}
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(String(format: "%.4f %d %d", seconds, bytes.count, produced))

/// The toolkit's version, shown by every tool's `--version`.
public enum CTIVersion {
  public static let current = "0.1.0"
}

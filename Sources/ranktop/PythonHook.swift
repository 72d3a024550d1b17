#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials

/// The zero-code hook for Python ranks: `<pydir>/ranktop/_autoload` (a `sitecustomize` that
/// instruments Accelerate when `RANKTOP_ADDR` is set) and `<pydir>` (the adapter itself) go first
/// on `PYTHONPATH` for everything `ranktop run` and `ranktop launch` start.
enum PythonHook {
    static let marker = "clients/python/ranktop/__init__.py"

    /// `$RANKTOP_PYTHON_DIR`; else, for a ranktop installed by pip (`<prefix>/bin/ranktop`), the
    /// `site-packages` beside it that holds the adapter (`<prefix>/lib/pythonX.Y/site-packages`);
    /// else the `clients/python` of the first directory, walking up from the real path of this
    /// executable and then from the current directory, that has one (a source checkout).
    static func pythonDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let explicit = environment["RANKTOP_PYTHON_DIR"], !explicit.isEmpty { return explicit }
        if let installed = installedSitePackages(executable: RunLocations.executablePath()) { return installed }
        let starts = [FilePaths.parent(of: RunLocations.executablePath()), FileManager.default.currentDirectoryPath]
        for start in starts {
            var directory = start
            while true {
                if FileManager.default.fileExists(atPath: directory + "/" + marker) { return directory + "/clients/python" }
                let parent = FilePaths.parent(of: directory)
                if parent == directory || parent.isEmpty { break }
                directory = parent
            }
        }
        return nil
    }

    /// `<prefix>/lib/python*/site-packages` (or `lib64`) holding `ranktop/__init__.py` and the
    /// autoload hook, for the executable `<prefix>/bin/ranktop` that pip installed with it.
    static func installedSitePackages(executable: String) -> String? {
        let prefix = FilePaths.parent(of: FilePaths.parent(of: executable))
        for lib in ["lib", "lib64"] {
            let libDirectory = prefix + "/" + lib
            let pythons = ((try? FileManager.default.contentsOfDirectory(atPath: libDirectory)) ?? [])
                .filter { $0.hasPrefix("python") }.sorted().reversed()
            for python in pythons {
                let site = libDirectory + "/" + python + "/site-packages"
                if FileManager.default.fileExists(atPath: site + "/ranktop/_autoload/sitecustomize.py") { return site }
            }
        }
        return nil
    }

    /// The environment with the hook in front of `PYTHONPATH`; warns (once) and leaves it alone
    /// when the adapter cannot be found.
    static func install(into environment: inout [String: String]) {
        guard let directory = pythonDirectory(environment: environment) else {
            Console.warn(
                "the Python adapter (clients/python) was not found next to this ranktop or the current directory; " +
                "Accelerate scripts will not report. Set RANKTOP_PYTHON_DIR to the clients/python directory"
            )
            return
        }
        var entries = [directory + "/ranktop/_autoload", directory]
        if let existing = environment["PYTHONPATH"], !existing.isEmpty { entries.append(existing) }
        environment["PYTHONPATH"] = entries.joined(separator: ":")
    }
}

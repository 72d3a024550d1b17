extension Format {
    /// `path` in at most `width` columns, cut from the left at a directory: `…/runs/r-42.jsonl`.
    /// The file name (and a `:line` after it) is what tells paths apart, so it stays whole: when
    /// even `…/name` does not fit, that is returned, wider than asked, for the caller to cut at
    /// its end. Text that is not a path, or fits, comes back as it is.
    public static func pathTail(_ path: String, width: Int, ellipsis: String = "…") -> String {
        guard path.count > width, path.contains("/") else { return path }
        let tails = path.indices.filter { path[$0] == "/" }.map { path[path.index(after: $0)...] }
        let marked = { (tail: Substring) in ellipsis + "/" + tail }
        if let fits = tails.first(where: { ellipsis.count + 1 + $0.count <= width }) { return marked(fits) }
        let name = marked(tails.last ?? Substring(path))
        return name.count < path.count ? name : path
    }
}

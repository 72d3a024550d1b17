// Generated from Themes/default.toml and Themes/monochrome.toml (a test checks they match), so
// the binary works with no theme files installed.
extension BuiltinThemes {
    static let defaultSource = #"""
# ranktop theme "default": for dark terminals. Compiled into ranktop, so it works with no files.
#
# Every key under [styles] is an element of the dashboard. A style is an inline table:
#   fg, bg   "#rrggbb", a palette index 0-255, "default" (the terminal's own colour) or a name:
#            black red green yellow blue magenta cyan white, bright-black ... bright-white
#   bold, dim, underline, reverse, italic   true or false
# A theme file only needs the elements it changes; the rest keep this theme's styles.
# Colours degrade to what the terminal offers (truecolor, 256, 16 or 8) by nearest match.

name = "default"
description = "light text on a dark terminal"

[styles]
text = {}
dim = { fg = "#8a8a8a" }
header = { fg = "#e4e4e4", bg = "#262f3d" }
"header.label" = { fg = "#87afd7", bg = "#262f3d", bold = true }
title = { fg = "#87afd7", bold = true }
"title.focused" = { fg = "#ffd75f", bold = true }
border = { fg = "#4e4e4e" }
"border.focused" = { fg = "#87afd7" }
selection = { bg = "#3a4a66", bold = true }
footer = { fg = "#bcbcbc", bg = "#262f3d" }
"footer.key" = { fg = "#ffd75f", bg = "#262f3d", bold = true }
"state.running" = { fg = "#5fd75f" }
"state.waiting" = { fg = "#ffaf00" }
"state.exited" = { fg = "#8a8a8a" }
"state.failed" = { fg = "#ff5f5f", bold = true }
"state.lost" = { fg = "#d75fd7", bold = true }
"state.silent" = { fg = "#585858" }
stale = { fg = "#ff8700", bold = true }
barrier = { fg = "#ffaf00" }
"barrier.missing" = { fg = "#ff5f5f", bold = true }
"barrier.timeout" = { fg = "#ff8700" }
mismatch = { fg = "#ffffff", bg = "#af0000", bold = true }
phase = { fg = "#5fafd7" }
"phase.main" = { fg = "#87d7ff", bold = true }
trigger = { fg = "#d787ff", bold = true }
"trigger.pending" = { fg = "#ffd75f" }
"progress.fill" = { fg = "#5f87d7" }
"progress.track" = { fg = "#444444" }
sparkline = { fg = "#5fafaf" }
warning = { fg = "#ffaf00" }
error = { fg = "#ff5f5f", bold = true }
dialog = { fg = "#e4e4e4", bg = "#1c2330" }
"dialog.border" = { fg = "#ffd75f", bg = "#1c2330", bold = true }
input = { fg = "#ffffff", bg = "#3a3a3a" }
"""#

    static let monochromeSource = #"""
# ranktop theme "monochrome": attributes only, no colour. Used for NO_COLOR and --no-color, and
# on terminals without colour; compiled into ranktop. Every state also reads as text, so nothing
# depends on colour.

name = "monochrome"
description = "bold, dim, underline and reverse only"

[styles]
text = {}
dim = { dim = true }
header = { reverse = true }
"header.label" = { reverse = true, bold = true }
title = { bold = true }
"title.focused" = { bold = true, underline = true }
border = {}
"border.focused" = { bold = true }
selection = { reverse = true }
footer = { reverse = true }
"footer.key" = { reverse = true, bold = true }
"state.running" = {}
"state.waiting" = { bold = true }
"state.exited" = { dim = true }
"state.failed" = { bold = true, underline = true }
"state.lost" = { bold = true, underline = true }
"state.silent" = { dim = true }
stale = { bold = true }
barrier = {}
"barrier.missing" = { bold = true }
"barrier.timeout" = { bold = true }
mismatch = { bold = true, reverse = true }
phase = {}
"phase.main" = { bold = true }
trigger = { bold = true }
"trigger.pending" = { bold = true }
"progress.fill" = {}
"progress.track" = { dim = true }
sparkline = {}
warning = { bold = true }
error = { bold = true, underline = true }
dialog = {}
"dialog.border" = { bold = true }
input = { underline = true }
"""#
}

/// A key, a mouse action or a resize, as the backend reads them.
public enum InputEvent: Sendable, Equatable {
    case key(Key)
    case mouse(MouseEvent)
    case resize
}

public enum Key: Sendable, Equatable {
    case char(Character)
    /// Control plus a letter (`ctrl("u")`), for the ones that are not Tab, Enter or Backspace.
    case ctrl(Character)
    case up, down, left, right
    case pageUp, pageDown, home, end
    case enter, escape, tab, backTab, backspace, delete
    /// F1 to F12.
    case function(Int)
}

public struct MouseEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case click, doubleClick, wheelUp, wheelDown
    }

    public var kind: Kind
    public var x: Int
    public var y: Int

    public init(_ kind: Kind, x: Int, y: Int) {
        self.kind = kind
        self.x = x
        self.y = y
    }
}

/// What the dashboard asks its runner to do after an input.
public enum DashboardAction: Sendable, Equatable {
    /// Nothing changed on screen.
    case none
    case redraw
    case quit
    /// Quit, and the user confirmed stopping the run the dashboard owns (q, then y).
    case quitStoppingRun
    /// Send a trigger to the run, with the reason typed in the dialog.
    case injectTrigger(reason: String?)
    /// Ask a rank for its stack.
    case requestStack(rank: Int)
    /// Ask these ranks for their stacks, all at once (`S`).
    case requestStacks(ranks: [Int])
    /// Move a replay's position or change its pace.
    case replay(ReplayCommand)
}

// Canvas, themes and widgets (the dashboard issue).
import RanktopModel

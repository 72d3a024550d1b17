// The ncurses backend (the dashboard issue).
import CNcursesShim

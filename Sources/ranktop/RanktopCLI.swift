import ArgumentParser

@main
struct RanktopCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ranktop",
        abstract: "A live dashboard, early-stop button and post-mortem for distributed training runs.",
        discussion: """
        Each rank of a run (Accelerate, torch.distributed or the Swift runtime) \
        streams events to a collector; ranktop shows who is where, who is late, \
        which barrier or collective is hung and who is missing, which ranks have \
        stalled and where, and stops the run cleanly on every rank when asked.

          ranktop demo                        a simulated run
          ranktop run -- torchrun ... train.py  watch a real run
          ranktop stack                       where every rank is, grouped
          ranktop report run.jsonl            post-mortem of an event log
          ranktop ls                          this host's shared-memory recordings
        """,
        version: "0.1.0",
        subcommands: [
            DemoCommand.self, DemoRankCommand.self, LaunchCommand.self, RunCommand.self, ServeCommand.self, AttachCommand.self,
            TriggerCommand.self, StackCommand.self, ReplayCommand.self, ReportCommand.self, ExportCommand.self,
            RelayCommand.self, ListCommand.self, RemoveCommand.self,
        ]
    )
}

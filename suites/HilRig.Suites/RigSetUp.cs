using HilRig.Fixtures;

// Every test records its outcome per device and writes its Allure result.
[assembly: RigTestActions]

// Workers mostly wait for the rig (one simulation thread, or real buttons and USB): one per slot of a full rig,
// so every slot's case runs at once even on a 2-core machine.
[assembly: LevelOfParallelism(16)]

namespace HilRig.Suites;

/// <summary>Opens the rig once for every suite in this assembly (rig-config.yaml, env HILRIG_CONFIG or test parameter "rig").</summary>
[SetUpFixture]
public sealed class RigSetUp : RigSetUpFixture;

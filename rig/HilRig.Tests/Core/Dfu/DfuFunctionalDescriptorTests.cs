using HilRig.Core.Dfu;

namespace HilRig.Tests.Dfu;

public class DfuFunctionalDescriptorTests
{
    [Test]
    public void Nine_bytes_are_DFU_1_1_with_version()
    {
        var d = DfuFunctionalDescriptor.Parse([9, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x08, 0x1A, 0x01]);
        Assert.That(d, Is.EqualTo(new DfuFunctionalDescriptor(0x0B, 255, 2048, 0x011A)));
        Assert.That(d.IsDfuSe, Is.True);
    }

    [Test]
    public void Seven_bytes_are_DFU_1_0_without_version()
    {
        var d = DfuFunctionalDescriptor.Parse([7, 0x21, 0x03, 0x10, 0x00, 0x00, 0x01]);
        Assert.That((d.BcdDfuVersion, d.TransferSize, d.CanDownload, d.CanUpload, d.IsDfuSe), Is.EqualTo(((ushort)0x0100, (ushort)256, true, true, false)));
    }

    [Test]
    public void Other_lengths_and_types_are_refused_with_the_value()
    {
        Assert.That(Assert.Throws<FormatException>(() => DfuFunctionalDescriptor.Parse([8, 0x21, 0, 0, 0, 0, 0, 0]))!.Message, Does.Contain("bLength 8"));
        Assert.That(Assert.Throws<FormatException>(() => DfuFunctionalDescriptor.Parse([9, 0x04, 0, 0, 0, 0, 0, 0, 0]))!.Message, Does.Contain("0x04"));
        Assert.That(Assert.Throws<FormatException>(() => DfuFunctionalDescriptor.Parse([9, 0x21, 0, 0]))!.Message, Does.Contain("truncated"));
    }

    [Test]
    public void Found_among_other_descriptors_by_type()
    {
        byte[] extra = [5, 0x24, 0, 0, 0, 9, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x04, 0x1A, 0x01];
        Assert.That(DfuFunctionalDescriptor.Find(extra)?.TransferSize, Is.EqualTo(1024));
        Assert.That(DfuFunctionalDescriptor.Find([5, 0x24, 0, 0, 0]), Is.Null);
    }

    [Test]
    public void Status_reply_round_trips_with_a_24_bit_poll_timeout()
    {
        var status = new DfuStatus(DfuStatusCode.ErrTarget, TimeSpan.FromMilliseconds(0x012345), DfuState.DfuError, 0);
        var bytes = new byte[6];
        status.WriteTo(bytes);
        Assert.That(bytes, Is.EqualTo(new byte[] { 0x01, 0x45, 0x23, 0x01, 10, 0 }));
        Assert.That(DfuStatus.Parse(bytes), Is.EqualTo(status));
        Assert.Throws<FormatException>(() => DfuStatus.Parse(bytes.AsSpan(0, 5)));
    }
}

/*
 * HilRig libusb shim: a libusb-1.0.so.0 that forwards enumeration, descriptors and control transfers to a
 * HilRig USB socket (env HILRIG_USB_SOCKET, protocol in PROTOCOL.md), so unmodified dfu-util and uhubctl
 * talk to the simulator. Exports the whole synchronous libusb-1.0 API (what dfu-util, uhubctl and pyusb bind), with
 * libusb 1.0.26's x86-64 struct layouts (checked below). Control transfers are the only kind the socket carries:
 * bulk, interrupt and isochronous ones, hotplug and streams answer LIBUSB_ERROR_NOT_SUPPORTED rather than being
 * absent; an asynchronous control transfer is done at submit and its callback runs in the next handle_events.
 * Threads: enumeration shares one connection (a mutex keeps it sane); every open handle has a connection of its
 * own, so a control transfer waiting on one device (a DFU erase) does not hold up another's, as with a real libusb.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#define API __attribute__((visibility("default")))

enum {
    LIBUSB_SUCCESS = 0, LIBUSB_ERROR_IO = -1, LIBUSB_ERROR_INVALID_PARAM = -2, LIBUSB_ERROR_ACCESS = -3,
    LIBUSB_ERROR_NO_DEVICE = -4, LIBUSB_ERROR_NOT_FOUND = -5, LIBUSB_ERROR_BUSY = -6, LIBUSB_ERROR_TIMEOUT = -7,
    LIBUSB_ERROR_OVERFLOW = -8, LIBUSB_ERROR_PIPE = -9, LIBUSB_ERROR_INTERRUPTED = -10, LIBUSB_ERROR_NO_MEM = -11,
    LIBUSB_ERROR_NOT_SUPPORTED = -12, LIBUSB_ERROR_OTHER = -99,
};

enum { DT_DEVICE = 1, DT_CONFIG = 2, DT_STRING = 3, DT_INTERFACE = 4, DT_ENDPOINT = 5, DT_BOS = 0x0F,
       DT_DEVICE_CAPABILITY = 0x10, BT_CONTAINER_ID = 4 };

enum { OP_LIST = 1, OP_OPEN = 2, OP_CLOSE = 3, OP_CLAIM = 4, OP_RELEASE = 5, OP_SET_ALT = 6, OP_RESET = 7,
       OP_CONTROL = 8, OP_GET_CONFIGURATION = 9 };

#define MAX_FRAME (1u << 20)
#define MAX_PORTS 7

/* ---- public structs: field order and sizes as libusb.h 1.0.26 ---- */

struct libusb_device_descriptor {
    uint8_t bLength, bDescriptorType;
    uint16_t bcdUSB;
    uint8_t bDeviceClass, bDeviceSubClass, bDeviceProtocol, bMaxPacketSize0;
    uint16_t idVendor, idProduct, bcdDevice;
    uint8_t iManufacturer, iProduct, iSerialNumber, bNumConfigurations;
};

struct libusb_endpoint_descriptor {
    uint8_t bLength, bDescriptorType, bEndpointAddress, bmAttributes;
    uint16_t wMaxPacketSize;
    uint8_t bInterval, bRefresh, bSynchAddress;
    const unsigned char *extra;
    int extra_length;
};

struct libusb_interface_descriptor {
    uint8_t bLength, bDescriptorType, bInterfaceNumber, bAlternateSetting, bNumEndpoints;
    uint8_t bInterfaceClass, bInterfaceSubClass, bInterfaceProtocol, iInterface;
    const struct libusb_endpoint_descriptor *endpoint;
    const unsigned char *extra;
    int extra_length;
};

struct libusb_interface {
    const struct libusb_interface_descriptor *altsetting;
    int num_altsetting;
};

struct libusb_config_descriptor {
    uint8_t bLength, bDescriptorType;
    uint16_t wTotalLength;
    uint8_t bNumInterfaces, bConfigurationValue, iConfiguration, bmAttributes, MaxPower;
    const struct libusb_interface *interface;
    const unsigned char *extra;
    int extra_length;
};

struct libusb_bos_dev_capability_descriptor {
    uint8_t bLength, bDescriptorType, bDevCapabilityType;
    uint8_t dev_capability_data[];
};

struct libusb_bos_descriptor {
    uint8_t bLength, bDescriptorType;
    uint16_t wTotalLength;
    uint8_t bNumDeviceCaps;
    struct libusb_bos_dev_capability_descriptor *dev_capability[];
};

struct libusb_container_id_descriptor {
    uint8_t bLength, bDescriptorType, bDevCapabilityType, bReserved;
    uint8_t ContainerID[16];
};

struct libusb_version {
    uint16_t major, minor, micro, nano;
    const char *rc;
    const char *describe;
};

_Static_assert(sizeof(struct libusb_device_descriptor) == 18, "device descriptor layout");
_Static_assert(offsetof(struct libusb_endpoint_descriptor, extra) == 16 && sizeof(struct libusb_endpoint_descriptor) == 32, "endpoint layout");
_Static_assert(offsetof(struct libusb_interface_descriptor, endpoint) == 16 && offsetof(struct libusb_interface_descriptor, extra_length) == 32 && sizeof(struct libusb_interface_descriptor) == 40, "interface descriptor layout");
_Static_assert(sizeof(struct libusb_interface) == 16 && offsetof(struct libusb_interface, num_altsetting) == 8, "interface layout");
_Static_assert(offsetof(struct libusb_config_descriptor, interface) == 16 && offsetof(struct libusb_config_descriptor, extra_length) == 32 && sizeof(struct libusb_config_descriptor) == 40, "config layout");
_Static_assert(offsetof(struct libusb_bos_descriptor, dev_capability) == 8, "bos layout");
_Static_assert(sizeof(struct libusb_container_id_descriptor) == 20, "container id layout");
_Static_assert(sizeof(struct libusb_version) == 24, "version layout");

/* ---- opaque objects ---- */

typedef struct libusb_context { int unused; } libusb_context;

typedef struct libusb_device {
    int refcount;
    uint8_t bus, address, nports;
    uint8_t ports[MAX_PORTS];
    uint8_t device_descriptor[18];
    uint8_t nconfigs;
    uint8_t **configs;
    uint16_t *config_lengths;
    uint8_t *bos;
    uint16_t bos_length;
} libusb_device;

/* A socket connection and the lock that keeps its request/reply pairs whole. */
struct conn {
    pthread_mutex_t lock;
    int fd;
};

typedef struct libusb_device_handle {
    libusb_device *dev;
    uint32_t id;
    struct conn conn; /* the handle's own connection: its id means something only there */
} libusb_device_handle;

/* ---- socket connections: one for enumeration, shared by every context; one per open handle ---- */

static struct conn g_main = { PTHREAD_MUTEX_INITIALIZER, -1 };
#define g_lock (g_main.lock)
#define g_fd (g_main.fd)
static int g_users;
static libusb_context g_default_context;
static char g_socket_path[sizeof ((struct sockaddr_un *)0)->sun_path];

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }

/* Sends one request on the connection of handle h (NULL: the enumeration connection) and returns the reply payload
 * (malloc'd, starting with the i32 status) or NULL on a broken connection. The caller frees it. */
static uint8_t *transact(libusb_device_handle *h, const uint8_t *req, uint32_t len, uint32_t *reply_len)
{
    struct conn *c = h ? &h->conn : &g_main;
    uint8_t header[4];
    uint8_t *reply = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->fd < 0) goto out;
    put_u32(header, len);
    if (write_all(c->fd, header, 4) || write_all(c->fd, req, len)) goto broken;
    if (read_all(c->fd, header, 4)) goto broken;
    uint32_t n = get_u32(header);
    if (n < 4 || n > MAX_FRAME) goto broken;
    reply = malloc(n);
    if (!reply || read_all(c->fd, reply, n)) { free(reply); reply = NULL; goto broken; }
    *reply_len = n;
    goto out;
broken:
    fprintf(stderr, "libusb shim: lost the HilRig USB socket connection\n");
    close(c->fd);
    c->fd = -1;
out:
    pthread_mutex_unlock(&c->lock);
    return reply;
}

/* Connects to the socket libusb_init found (g_socket_path); -1 with a message on stderr when it cannot. */
static int connect_socket(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "libusb shim: cannot connect to HILRIG_USB_SOCKET=%s: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static int32_t status_of(const uint8_t *reply) { return (int32_t)get_u32(reply); }

/* Requests whose reply is just a status. */
static int simple_request(libusb_device_handle *h, const uint8_t *req, uint32_t len)
{
    uint32_t n;
    uint8_t *reply = transact(h, req, len, &n);
    if (!reply) return LIBUSB_ERROR_NO_DEVICE;
    int32_t status = status_of(reply);
    free(reply);
    return status < 0 ? status : 0;
}

/* ---- device identity: like libusb, a device keeps its libusb_device while it stays on the bus ---- */

API libusb_device *libusb_ref_device(libusb_device *dev);
API void libusb_unref_device(libusb_device *dev);

static pthread_mutex_t g_devices_lock = PTHREAD_MUTEX_INITIALIZER;
static libusb_device **g_known; /* each holds one reference of the cache's own */
static int g_known_count;

static int same_device(const libusb_device *a, const libusb_device *b)
{
    if (a->bus != b->bus || a->address != b->address || a->nports != b->nports || a->nconfigs != b->nconfigs
        || a->bos_length != b->bos_length || memcmp(a->ports, b->ports, a->nports) != 0
        || memcmp(a->device_descriptor, b->device_descriptor, 18) != 0
        || (a->bos_length && memcmp(a->bos, b->bos, a->bos_length) != 0))
        return 0;
    for (int i = 0; i < a->nconfigs; i++)
        if (a->config_lengths[i] != b->config_lengths[i] || memcmp(a->configs[i], b->configs[i], a->config_lengths[i]) != 0) return 0;
    return 1;
}

/* Replaces each freshly listed device by the one already known for it, and forgets devices that left the bus.
 * Returns 0, or LIBUSB_ERROR_NO_MEM with the list untouched. */
static int keep_identity(libusb_device **devices, int count)
{
    libusb_device **known = calloc((size_t)count + 1, sizeof *known);
    if (!known) return LIBUSB_ERROR_NO_MEM;
    pthread_mutex_lock(&g_devices_lock);
    for (int i = 0; i < count; i++) {
        for (int k = 0; k < g_known_count && !known[i]; k++) {
            if (g_known[k] && same_device(g_known[k], devices[i])) {
                libusb_unref_device(devices[i]);
                devices[i] = libusb_ref_device(g_known[k]);
                known[i] = g_known[k]; /* the cache's reference moves along */
                g_known[k] = NULL;
            }
        }
        if (!known[i]) known[i] = libusb_ref_device(devices[i]);
    }
    for (int k = 0; k < g_known_count; k++)
        if (g_known[k]) libusb_unref_device(g_known[k]);
    free(g_known);
    g_known = known;
    g_known_count = count;
    pthread_mutex_unlock(&g_devices_lock);
    return 0;
}

static void forget_devices(void)
{
    pthread_mutex_lock(&g_devices_lock);
    for (int k = 0; k < g_known_count; k++)
        if (g_known[k]) libusb_unref_device(g_known[k]);
    free(g_known);
    g_known = NULL;
    g_known_count = 0;
    pthread_mutex_unlock(&g_devices_lock);
}

API int libusb_init(libusb_context **ctx)
{
    pthread_mutex_lock(&g_lock);
    int rc = 0;
    if (g_fd < 0) {
        const char *path = getenv("HILRIG_USB_SOCKET");
        if (!path || !*path) {
            fprintf(stderr, "libusb shim: HILRIG_USB_SOCKET is not set (it must name the socket printed by 'hilrig sim serve')\n");
            rc = LIBUSB_ERROR_OTHER;
            goto out;
        }
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof addr.sun_path) {
            fprintf(stderr, "libusb shim: HILRIG_USB_SOCKET=%s is longer than %zu bytes\n", path, sizeof addr.sun_path - 1);
            rc = LIBUSB_ERROR_INVALID_PARAM;
            goto out;
        }
        int fd = connect_socket(path);
        if (fd < 0) {
            rc = LIBUSB_ERROR_IO;
            goto out;
        }
        strcpy(g_socket_path, path);
        g_fd = fd;
    }
    g_users++;
    if (ctx) {
        *ctx = calloc(1, sizeof **ctx);
        if (!*ctx) { g_users--; rc = LIBUSB_ERROR_NO_MEM; }
    }
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

API void libusb_exit(libusb_context *ctx)
{
    pthread_mutex_lock(&g_lock);
    if (ctx && ctx != &g_default_context) free(ctx);
    if (g_users > 0 && --g_users == 0 && g_fd >= 0) {
        close(g_fd);
        g_fd = -1;
        forget_devices();
    }
    pthread_mutex_unlock(&g_lock);
}

API int libusb_set_option(libusb_context *ctx, int option, ...)
{
    (void)ctx;
    va_list ap;
    va_start(ap, option);
    int rc = LIBUSB_SUCCESS;
    if (option == 0) {
        int level = va_arg(ap, int);
        if (level < 0 || level > 4) rc = LIBUSB_ERROR_INVALID_PARAM;
    } else if (option == 1) {
        rc = LIBUSB_ERROR_NOT_SUPPORTED; /* UsbDk is Windows only */
    } else if (option != 2) {
        rc = LIBUSB_ERROR_INVALID_PARAM;
    }
    va_end(ap);
    return rc;
}

API void libusb_set_debug(libusb_context *ctx, int level) { (void)ctx; (void)level; }

API const struct libusb_version *libusb_get_version(void)
{
    static const struct libusb_version version = { 1, 0, 26, 11724, "", "HilRig libusb shim (USB over a socket)" };
    return &version;
}

/* Lets a caller tell this shim from a real libusb: the USB-over-socket protocol version it speaks. */
API int hilrig_usbshim_protocol_version(void) { return 1; }

API int libusb_has_capability(uint32_t capability) { return capability == 0; /* LIBUSB_CAP_HAS_CAPABILITY */ }

API const char *libusb_error_name(int code)
{
    switch (code) {
    case LIBUSB_SUCCESS: return "LIBUSB_SUCCESS / LIBUSB_TRANSFER_COMPLETED";
    case LIBUSB_ERROR_IO: return "LIBUSB_ERROR_IO";
    case LIBUSB_ERROR_INVALID_PARAM: return "LIBUSB_ERROR_INVALID_PARAM";
    case LIBUSB_ERROR_ACCESS: return "LIBUSB_ERROR_ACCESS";
    case LIBUSB_ERROR_NO_DEVICE: return "LIBUSB_ERROR_NO_DEVICE";
    case LIBUSB_ERROR_NOT_FOUND: return "LIBUSB_ERROR_NOT_FOUND";
    case LIBUSB_ERROR_BUSY: return "LIBUSB_ERROR_BUSY";
    case LIBUSB_ERROR_TIMEOUT: return "LIBUSB_ERROR_TIMEOUT";
    case LIBUSB_ERROR_OVERFLOW: return "LIBUSB_ERROR_OVERFLOW";
    case LIBUSB_ERROR_PIPE: return "LIBUSB_ERROR_PIPE";
    case LIBUSB_ERROR_INTERRUPTED: return "LIBUSB_ERROR_INTERRUPTED";
    case LIBUSB_ERROR_NO_MEM: return "LIBUSB_ERROR_NO_MEM";
    case LIBUSB_ERROR_NOT_SUPPORTED: return "LIBUSB_ERROR_NOT_SUPPORTED";
    case LIBUSB_ERROR_OTHER: return "LIBUSB_ERROR_OTHER";
    case 1: return "LIBUSB_TRANSFER_ERROR";
    case 2: return "LIBUSB_TRANSFER_TIMED_OUT";
    case 3: return "LIBUSB_TRANSFER_CANCELLED";
    case 4: return "LIBUSB_TRANSFER_STALL";
    case 5: return "LIBUSB_TRANSFER_NO_DEVICE";
    case 6: return "LIBUSB_TRANSFER_OVERFLOW";
    default: return "**UNKNOWN**";
    }
}

API const char *libusb_strerror(int code) { return libusb_error_name(code); }

/* ---- devices ---- */

static void free_device(libusb_device *d)
{
    for (int i = 0; i < d->nconfigs; i++) free(d->configs[i]);
    free(d->configs);
    free(d->config_lengths);
    free(d->bos);
    free(d);
}

API libusb_device *libusb_ref_device(libusb_device *dev)
{
    __atomic_add_fetch(&dev->refcount, 1, __ATOMIC_SEQ_CST);
    return dev;
}

API void libusb_unref_device(libusb_device *dev)
{
    if (dev && __atomic_sub_fetch(&dev->refcount, 1, __ATOMIC_SEQ_CST) == 0) free_device(dev);
}

/* Bounds-checked reader over a LIST reply. */
struct cursor { const uint8_t *p; uint32_t left; int bad; };

static const uint8_t *take(struct cursor *c, uint32_t n)
{
    if (c->bad || n > c->left) { c->bad = 1; return NULL; }
    const uint8_t *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

static uint8_t *take_copy(struct cursor *c, uint32_t n)
{
    const uint8_t *p = take(c, n);
    if (!p) return NULL;
    uint8_t *copy = malloc(n ? n : 1);
    if (copy) memcpy(copy, p, n);
    else c->bad = 1;
    return copy;
}

static libusb_device *read_device(struct cursor *c)
{
    libusb_device *d = calloc(1, sizeof *d);
    if (!d) { c->bad = 1; return NULL; }
    d->refcount = 1;
    const uint8_t *h = take(c, 3);
    if (!h) goto bad;
    d->bus = h[0];
    d->address = h[1];
    uint8_t nports = h[2];
    const uint8_t *ports = take(c, nports);
    const uint8_t *desc = take(c, 18);
    const uint8_t *nc = take(c, 1);
    if (!ports || !desc || !nc || nports > MAX_PORTS) goto bad;
    d->nports = nports;
    memcpy(d->ports, ports, nports);
    memcpy(d->device_descriptor, desc, 18);
    d->nconfigs = nc[0];
    d->configs = calloc(d->nconfigs ? d->nconfigs : 1, sizeof *d->configs);
    d->config_lengths = calloc(d->nconfigs ? d->nconfigs : 1, sizeof *d->config_lengths);
    if (!d->configs || !d->config_lengths) goto bad;
    for (int i = 0; i < d->nconfigs; i++) {
        const uint8_t *l = take(c, 2);
        if (!l) goto bad;
        d->config_lengths[i] = get_u16(l);
        d->configs[i] = take_copy(c, d->config_lengths[i]);
        if (!d->configs[i]) goto bad;
    }
    const uint8_t *bl = take(c, 2);
    if (!bl) goto bad;
    d->bos_length = get_u16(bl);
    if (d->bos_length) {
        d->bos = take_copy(c, d->bos_length);
        if (!d->bos) goto bad;
    }
    return d;
bad:
    c->bad = 1;
    if (d->configs == NULL) d->nconfigs = 0;
    free_device(d);
    return NULL;
}

API ssize_t libusb_get_device_list(libusb_context *ctx, libusb_device ***list)
{
    (void)ctx;
    if (!list) return LIBUSB_ERROR_INVALID_PARAM;
    uint8_t req = OP_LIST;
    uint32_t n;
    uint8_t *reply = transact(NULL, &req, 1, &n);
    if (!reply) return LIBUSB_ERROR_IO;
    int32_t count = status_of(reply);
    if (count < 0) { free(reply); return count; }
    libusb_device **devices = calloc((size_t)count + 1, sizeof *devices); /* NULL-terminated */
    if (!devices) { free(reply); return LIBUSB_ERROR_NO_MEM; }
    struct cursor c = { reply + 4, n - 4, 0 };
    for (int32_t i = 0; i < count; i++) {
        devices[i] = read_device(&c);
        if (!devices[i]) {
            fprintf(stderr, "libusb shim: malformed LIST reply from the HilRig USB socket (device %d)\n", i);
            for (int32_t j = 0; j < i; j++) libusb_unref_device(devices[j]);
            free(devices);
            free(reply);
            return LIBUSB_ERROR_IO;
        }
    }
    free(reply);
    int rc = keep_identity(devices, count);
    if (rc < 0) {
        for (int32_t j = 0; j < count; j++) libusb_unref_device(devices[j]);
        free(devices);
        return rc;
    }
    *list = devices;
    return count;
}

API void libusb_free_device_list(libusb_device **list, int unref_devices)
{
    if (!list) return;
    if (unref_devices)
        for (libusb_device **d = list; *d; d++) libusb_unref_device(*d);
    free(list);
}

API uint8_t libusb_get_bus_number(libusb_device *dev) { return dev->bus; }
API uint8_t libusb_get_device_address(libusb_device *dev) { return dev->address; }
API uint8_t libusb_get_port_number(libusb_device *dev) { return dev->nports ? dev->ports[dev->nports - 1] : 0; }
/* Spark Cores are full-speed devices; a hub that declares a transaction translator (protocol >= 1) is high speed. */
API int libusb_get_device_speed(libusb_device *dev)
{
    return dev->device_descriptor[4] == 9 && dev->device_descriptor[6] >= 1 ? 3 /* HIGH */ : 2 /* FULL */;
}
API libusb_device *libusb_get_parent(libusb_device *dev) { (void)dev; return NULL; }

API int libusb_get_port_numbers(libusb_device *dev, uint8_t *port_numbers, int port_numbers_len)
{
    if (port_numbers_len <= 0) return LIBUSB_ERROR_INVALID_PARAM;
    if (dev->nports > port_numbers_len) return LIBUSB_ERROR_OVERFLOW;
    memcpy(port_numbers, dev->ports, dev->nports);
    return dev->nports;
}

API int libusb_get_device_descriptor(libusb_device *dev, struct libusb_device_descriptor *desc)
{
    const uint8_t *b = dev->device_descriptor;
    desc->bLength = b[0];
    desc->bDescriptorType = b[1];
    desc->bcdUSB = get_u16(b + 2);
    desc->bDeviceClass = b[4];
    desc->bDeviceSubClass = b[5];
    desc->bDeviceProtocol = b[6];
    desc->bMaxPacketSize0 = b[7];
    desc->idVendor = get_u16(b + 8);
    desc->idProduct = get_u16(b + 10);
    desc->bcdDevice = get_u16(b + 12);
    desc->iManufacturer = b[14];
    desc->iProduct = b[15];
    desc->iSerialNumber = b[16];
    desc->bNumConfigurations = b[17];
    return 0;
}

/* ---- configuration descriptor parsing, libusb's rules ---- */

/* "extra": everything up to the next interface, endpoint, configuration or device descriptor. */
static int take_extra(const uint8_t *data, int len, int *pos, const unsigned char **extra, int *extra_length)
{
    int start = *pos;
    while (*pos + 2 <= len) {
        uint8_t l = data[*pos], t = data[*pos + 1];
        if (t == DT_INTERFACE || t == DT_ENDPOINT || t == DT_CONFIG || t == DT_DEVICE) break;
        if (l < 2 || *pos + l > len) return LIBUSB_ERROR_IO;
        *pos += l;
    }
    *extra = NULL;
    *extra_length = 0;
    if (*pos > start) {
        unsigned char *copy = malloc((size_t)(*pos - start));
        if (!copy) return LIBUSB_ERROR_NO_MEM;
        memcpy(copy, data + start, (size_t)(*pos - start));
        *extra = copy;
        *extra_length = *pos - start;
    }
    return 0;
}

API void libusb_free_config_descriptor(struct libusb_config_descriptor *config)
{
    if (!config) return;
    for (int i = 0; i < config->bNumInterfaces; i++) {
        const struct libusb_interface *itf = &config->interface[i];
        for (int a = 0; a < itf->num_altsetting; a++) {
            const struct libusb_interface_descriptor *alt = &itf->altsetting[a];
            for (int e = 0; e < alt->bNumEndpoints; e++) free((void *)alt->endpoint[e].extra);
            free((void *)alt->endpoint);
            free((void *)alt->extra);
        }
        free((void *)itf->altsetting);
    }
    free((void *)config->interface);
    free((void *)config->extra);
    free(config);
}

static int parse_config(const uint8_t *raw, int size, struct libusb_config_descriptor **out)
{
    if (size < 9 || raw[1] != DT_CONFIG || raw[0] < 9) return LIBUSB_ERROR_IO;
    int len = get_u16(raw + 2);
    if (len > size) len = size;
    struct libusb_config_descriptor *c = calloc(1, sizeof *c);
    if (!c) return LIBUSB_ERROR_NO_MEM;
    c->bLength = raw[0];
    c->bDescriptorType = raw[1];
    c->wTotalLength = get_u16(raw + 2);
    c->bConfigurationValue = raw[5];
    c->iConfiguration = raw[6];
    c->bmAttributes = raw[7];
    c->MaxPower = raw[8];
    int pos = raw[0], rc;
    if ((rc = take_extra(raw, len, &pos, &c->extra, &c->extra_length))) goto fail;

    struct libusb_interface *itfs = NULL;
    int nitf = 0;
    while (pos + 2 <= len) {
        uint8_t l = raw[pos], t = raw[pos + 1];
        if (l < 2 || pos + l > len) { rc = LIBUSB_ERROR_IO; goto fail; }
        if (t != DT_INTERFACE) { pos += l; continue; } /* stray descriptor between interfaces */
        if (l < 9) { rc = LIBUSB_ERROR_IO; goto fail; }
        const uint8_t *d = raw + pos;
        pos += l;
        /* consecutive descriptors with the same interface number are alt settings of one interface */
        if (nitf == 0 || itfs[nitf - 1].altsetting[0].bInterfaceNumber != d[2]) {
            struct libusb_interface *grown = realloc(itfs, (size_t)(nitf + 1) * sizeof *itfs);
            if (!grown) { rc = LIBUSB_ERROR_NO_MEM; goto fail; }
            itfs = grown;
            memset(&itfs[nitf], 0, sizeof *itfs);
            nitf++;
            c->interface = itfs;
            c->bNumInterfaces = (uint8_t)nitf;
        }
        struct libusb_interface *itf = &itfs[nitf - 1];
        struct libusb_interface_descriptor *alts = realloc((void *)itf->altsetting, (size_t)(itf->num_altsetting + 1) * sizeof *alts);
        if (!alts) { rc = LIBUSB_ERROR_NO_MEM; goto fail; }
        itf->altsetting = alts;
        struct libusb_interface_descriptor *alt = &alts[itf->num_altsetting++];
        memset(alt, 0, sizeof *alt);
        alt->bLength = d[0];
        alt->bDescriptorType = d[1];
        alt->bInterfaceNumber = d[2];
        alt->bAlternateSetting = d[3];
        alt->bInterfaceClass = d[5];
        alt->bInterfaceSubClass = d[6];
        alt->bInterfaceProtocol = d[7];
        alt->iInterface = d[8];
        if ((rc = take_extra(raw, len, &pos, &alt->extra, &alt->extra_length))) goto fail;
        if (d[4] > 0) {
            struct libusb_endpoint_descriptor *eps = calloc(d[4], sizeof *eps);
            if (!eps) { rc = LIBUSB_ERROR_NO_MEM; goto fail; }
            alt->endpoint = eps;
            for (int e = 0; e < d[4] && pos + 7 <= len && raw[pos + 1] == DT_ENDPOINT; e++) {
                const uint8_t *ed = raw + pos;
                if (ed[0] < 7 || pos + ed[0] > len) { rc = LIBUSB_ERROR_IO; goto fail; }
                struct libusb_endpoint_descriptor *ep = &eps[alt->bNumEndpoints++];
                ep->bLength = ed[0];
                ep->bDescriptorType = ed[1];
                ep->bEndpointAddress = ed[2];
                ep->bmAttributes = ed[3];
                ep->wMaxPacketSize = get_u16(ed + 4);
                ep->bInterval = ed[6];
                if (ed[0] >= 9) { ep->bRefresh = ed[7]; ep->bSynchAddress = ed[8]; }
                pos += ed[0];
                if ((rc = take_extra(raw, len, &pos, &ep->extra, &ep->extra_length))) goto fail;
            }
        }
    }
    *out = c;
    return 0;
fail:
    libusb_free_config_descriptor(c);
    return rc;
}

API int libusb_get_config_descriptor(libusb_device *dev, uint8_t config_index, struct libusb_config_descriptor **config)
{
    if (config_index >= dev->nconfigs) return LIBUSB_ERROR_NOT_FOUND;
    return parse_config(dev->configs[config_index], dev->config_lengths[config_index], config);
}

API int libusb_get_config_descriptor_by_value(libusb_device *dev, uint8_t value, struct libusb_config_descriptor **config)
{
    for (int i = 0; i < dev->nconfigs; i++)
        if (dev->config_lengths[i] > 5 && dev->configs[i][5] == value) return parse_config(dev->configs[i], dev->config_lengths[i], config);
    return LIBUSB_ERROR_NOT_FOUND;
}

API int libusb_get_active_config_descriptor(libusb_device *dev, struct libusb_config_descriptor **config)
{
    return libusb_get_config_descriptor(dev, 0, config);
}

/* ---- handles ---- */

static void put_handle(uint8_t *p, const libusb_device_handle *h) { put_u32(p, h->id); }

API int libusb_open(libusb_device *dev, libusb_device_handle **handle)
{
    pthread_mutex_lock(&g_lock);
    int fd = g_fd < 0 ? -1 : connect_socket(g_socket_path);
    pthread_mutex_unlock(&g_lock);
    if (fd < 0) return LIBUSB_ERROR_NO_DEVICE;
    libusb_device_handle *h = calloc(1, sizeof *h);
    if (!h) { close(fd); return LIBUSB_ERROR_NO_MEM; }
    pthread_mutex_init(&h->conn.lock, NULL);
    h->conn.fd = fd;
    uint8_t req[3] = { OP_OPEN, dev->bus, dev->address };
    uint32_t n;
    uint8_t *reply = transact(h, req, sizeof req, &n);
    int32_t status = !reply ? LIBUSB_ERROR_NO_DEVICE : n < 8 && status_of(reply) >= 0 ? LIBUSB_ERROR_IO : status_of(reply);
    if (status < 0) {
        free(reply);
        if (h->conn.fd >= 0) close(h->conn.fd);
        pthread_mutex_destroy(&h->conn.lock);
        free(h);
        return status;
    }
    h->id = get_u32(reply + 4);
    h->dev = libusb_ref_device(dev);
    free(reply);
    *handle = h;
    return 0;
}

/* The handle's connection goes with it: the server closes a connection's handles when it hangs up (no CLOSE request,
 * so closing never reports a lost connection when the server has already gone). */
API void libusb_close(libusb_device_handle *handle)
{
    if (!handle) return;
    if (handle->conn.fd >= 0) close(handle->conn.fd);
    pthread_mutex_destroy(&handle->conn.lock);
    libusb_unref_device(handle->dev);
    free(handle);
}

API libusb_device *libusb_get_device(libusb_device_handle *handle) { return handle->dev; }

static int interface_request(uint8_t op, libusb_device_handle *h, int interface_number, int alt, int with_alt)
{
    if (interface_number < 0 || interface_number > 255 || alt < 0 || alt > 255) return LIBUSB_ERROR_INVALID_PARAM;
    uint8_t req[7] = { op };
    put_handle(req + 1, h);
    req[5] = (uint8_t)interface_number;
    req[6] = (uint8_t)alt;
    return simple_request(h, req, with_alt ? 7 : 6);
}

API int libusb_claim_interface(libusb_device_handle *h, int n) { return interface_request(OP_CLAIM, h, n, 0, 0); }
API int libusb_release_interface(libusb_device_handle *h, int n) { return interface_request(OP_RELEASE, h, n, 0, 0); }
API int libusb_set_interface_alt_setting(libusb_device_handle *h, int n, int alt) { return interface_request(OP_SET_ALT, h, n, alt, 1); }

API int libusb_reset_device(libusb_device_handle *h)
{
    uint8_t req[5] = { OP_RESET };
    put_handle(req + 1, h);
    return simple_request(h, req, sizeof req);
}

/* No kernel drivers behind a socket: nothing to detach. */
API int libusb_kernel_driver_active(libusb_device_handle *h, int n) { (void)h; (void)n; return 0; }
API int libusb_detach_kernel_driver(libusb_device_handle *h, int n) { (void)h; (void)n; return LIBUSB_ERROR_NOT_FOUND; }
API int libusb_attach_kernel_driver(libusb_device_handle *h, int n) { (void)h; (void)n; return LIBUSB_ERROR_NOT_FOUND; }
API int libusb_set_auto_detach_kernel_driver(libusb_device_handle *h, int enable) { (void)h; (void)enable; return 0; }

API int libusb_get_configuration(libusb_device_handle *h, int *config)
{
    uint8_t req[5] = { OP_GET_CONFIGURATION };
    put_handle(req + 1, h);
    uint32_t n;
    uint8_t *reply = transact(h, req, sizeof req, &n);
    if (!reply) return LIBUSB_ERROR_NO_DEVICE;
    int32_t status = status_of(reply);
    if (status >= 0 && n >= 5) *config = reply[4];
    else if (status >= 0) status = LIBUSB_ERROR_IO;
    free(reply);
    return status < 0 ? status : 0;
}

API int libusb_control_transfer(libusb_device_handle *h, uint8_t request_type, uint8_t request, uint16_t value,
                                uint16_t index, unsigned char *data, uint16_t length, unsigned int timeout)
{
    int in = (request_type & 0x80) != 0;
    if (length && !data) return LIBUSB_ERROR_INVALID_PARAM;
    uint32_t req_len = 1 + 4 + 8 + 4 + (in ? 0 : length);
    uint8_t *req = malloc(req_len);
    if (!req) return LIBUSB_ERROR_NO_MEM;
    req[0] = OP_CONTROL;
    put_handle(req + 1, h);
    req[5] = request_type;
    req[6] = request;
    put_u16(req + 7, value);
    put_u16(req + 9, index);
    put_u16(req + 11, length);
    put_u32(req + 13, timeout);
    if (!in && length) memcpy(req + 17, data, length);
    uint32_t n;
    uint8_t *reply = transact(h, req, req_len, &n);
    free(req);
    if (!reply) return LIBUSB_ERROR_NO_DEVICE;
    int32_t status = status_of(reply);
    if (status > (int32_t)length) status = LIBUSB_ERROR_OVERFLOW;
    else if (status > 0 && in) {
        if (n - 4 < (uint32_t)status) status = LIBUSB_ERROR_IO;
        else memcpy(data, reply + 4, (size_t)status);
    }
    free(reply);
    return status;
}

API int libusb_get_string_descriptor_ascii(libusb_device_handle *h, uint8_t desc_index, unsigned char *data, int length)
{
    if (desc_index == 0 || length < 0) return LIBUSB_ERROR_INVALID_PARAM;
    unsigned char tbuf[255];
    int r = libusb_control_transfer(h, 0x80, 6, DT_STRING << 8, 0, tbuf, 4, 1000);
    if (r < 0) return r;
    if (r < 4) return LIBUSB_ERROR_IO;
    uint16_t langid = get_u16(tbuf + 2);
    r = libusb_control_transfer(h, 0x80, 6, (uint16_t)((DT_STRING << 8) | desc_index), langid, tbuf, sizeof tbuf, 1000);
    if (r < 0) return r;
    if (r < 2 || tbuf[1] != DT_STRING || tbuf[0] > r) return LIBUSB_ERROR_IO;
    int di = 0;
    for (int si = 2; si + 1 < tbuf[0] && di < length - 1; si += 2) {
        data[di++] = (tbuf[si + 1] || (tbuf[si] & 0x80)) ? '?' : tbuf[si];
    }
    if (length > 0) data[di] = 0;
    return di;
}

/* ---- BOS ---- */

API void libusb_free_bos_descriptor(struct libusb_bos_descriptor *bos)
{
    if (!bos) return;
    for (int i = 0; i < bos->bNumDeviceCaps; i++) free(bos->dev_capability[i]);
    free(bos);
}

API int libusb_get_bos_descriptor(libusb_device_handle *h, struct libusb_bos_descriptor **bos)
{
    const libusb_device *d = h->dev;
    if (!d->bos || d->bos_length < 5) return LIBUSB_ERROR_NOT_FOUND;
    const uint8_t *raw = d->bos;
    if (raw[1] != DT_BOS) return LIBUSB_ERROR_IO;
    int len = get_u16(raw + 2);
    if (len > d->bos_length) len = d->bos_length;
    uint8_t ncaps = raw[4];
    struct libusb_bos_descriptor *b = calloc(1, sizeof *b + ncaps * sizeof b->dev_capability[0]);
    if (!b) return LIBUSB_ERROR_NO_MEM;
    b->bLength = raw[0];
    b->bDescriptorType = raw[1];
    b->wTotalLength = get_u16(raw + 2);
    int pos = raw[0];
    for (int i = 0; i < ncaps && pos + 3 <= len; i++) {
        uint8_t l = raw[pos];
        if (l < 3 || pos + l > len || raw[pos + 1] != DT_DEVICE_CAPABILITY) break;
        struct libusb_bos_dev_capability_descriptor *cap = malloc(l);
        if (!cap) { libusb_free_bos_descriptor(b); return LIBUSB_ERROR_NO_MEM; }
        memcpy(cap, raw + pos, l);
        b->dev_capability[b->bNumDeviceCaps++] = cap;
        pos += l;
    }
    *bos = b;
    return 0;
}

API void libusb_free_container_id_descriptor(struct libusb_container_id_descriptor *container_id) { free(container_id); }

API int libusb_get_container_id_descriptor(libusb_context *ctx, struct libusb_bos_dev_capability_descriptor *cap,
                                           struct libusb_container_id_descriptor **container_id)
{
    (void)ctx;
    if (!cap || cap->bDevCapabilityType != BT_CONTAINER_ID) return LIBUSB_ERROR_INVALID_PARAM;
    if (cap->bLength < 20) return LIBUSB_ERROR_IO;
    struct libusb_container_id_descriptor *c = malloc(sizeof *c);
    if (!c) return LIBUSB_ERROR_NO_MEM;
    memcpy(c, cap, sizeof *c);
    *container_id = c;
    return 0;
}

/* ---- the rest of the synchronous API ---- */

API libusb_device_handle *libusb_open_device_with_vid_pid(libusb_context *ctx, uint16_t vendor_id, uint16_t product_id)
{
    libusb_device **list;
    libusb_device_handle *handle = NULL;
    ssize_t n = libusb_get_device_list(ctx, &list);
    if (n < 0) return NULL;
    for (ssize_t i = 0; i < n; i++) {
        const uint8_t *d = list[i]->device_descriptor;
        if (get_u16(d + 8) == vendor_id && get_u16(d + 10) == product_id) {
            if (libusb_open(list[i], &handle) != 0) handle = NULL;
            break;
        }
    }
    libusb_free_device_list(list, 1);
    return handle;
}

/* Standard SET_CONFIGURATION; -1 means unconfigured (value 0), as in libusb. */
API int libusb_set_configuration(libusb_device_handle *h, int configuration)
{
    if (configuration < -1 || configuration > 255) return LIBUSB_ERROR_INVALID_PARAM;
    int r = libusb_control_transfer(h, 0x00, 9, (uint16_t)(configuration < 0 ? 0 : configuration), 0, NULL, 0, 1000);
    return r < 0 ? r : 0;
}

/* Standard CLEAR_FEATURE(ENDPOINT_HALT) to the endpoint. */
API int libusb_clear_halt(libusb_device_handle *h, unsigned char endpoint)
{
    int r = libusb_control_transfer(h, 0x02, 1, 0, endpoint, NULL, 0, 1000);
    return r < 0 ? r : 0;
}

/* The socket carries control transfers only (the simulated DFU devices and hubs have no other endpoints in use). */
API int libusb_bulk_transfer(libusb_device_handle *h, unsigned char endpoint, unsigned char *data, int length,
                             int *transferred, unsigned int timeout)
{
    (void)endpoint; (void)data; (void)length; (void)timeout;
    if (transferred) *transferred = 0;
    return h ? LIBUSB_ERROR_NOT_SUPPORTED : LIBUSB_ERROR_INVALID_PARAM;
}

API int libusb_interrupt_transfer(libusb_device_handle *h, unsigned char endpoint, unsigned char *data, int length,
                                  int *transferred, unsigned int timeout)
{
    return libusb_bulk_transfer(h, endpoint, data, length, transferred, timeout);
}

static const struct libusb_endpoint_descriptor *find_endpoint(libusb_device *dev, unsigned char endpoint,
                                                              struct libusb_config_descriptor **config)
{
    if (libusb_get_active_config_descriptor(dev, config) != 0) return NULL;
    for (int i = 0; i < (*config)->bNumInterfaces; i++)
        for (int a = 0; a < (*config)->interface[i].num_altsetting; a++) {
            const struct libusb_interface_descriptor *alt = &(*config)->interface[i].altsetting[a];
            for (int e = 0; e < alt->bNumEndpoints; e++)
                if (alt->endpoint[e].bEndpointAddress == endpoint) return &alt->endpoint[e];
        }
    return NULL;
}

API int libusb_get_max_packet_size(libusb_device *dev, unsigned char endpoint)
{
    struct libusb_config_descriptor *config = NULL;
    const struct libusb_endpoint_descriptor *ep = find_endpoint(dev, endpoint, &config);
    int r = ep ? (ep->wMaxPacketSize & 0x7FF) : LIBUSB_ERROR_NOT_FOUND;
    libusb_free_config_descriptor(config);
    return r;
}

API int libusb_get_max_iso_packet_size(libusb_device *dev, unsigned char endpoint)
{
    struct libusb_config_descriptor *config = NULL;
    const struct libusb_endpoint_descriptor *ep = find_endpoint(dev, endpoint, &config);
    int r = LIBUSB_ERROR_NOT_FOUND;
    if (ep) {
        int size = ep->wMaxPacketSize & 0x7FF, type = ep->bmAttributes & 3;
        r = (type == 1 || type == 3) ? size * (1 + ((ep->wMaxPacketSize >> 11) & 3)) : size;
    }
    libusb_free_config_descriptor(config);
    return r;
}

/* Deprecated name of libusb_get_port_numbers. */
API int libusb_get_port_path(libusb_context *ctx, libusb_device *dev, uint8_t *path, uint8_t path_length)
{
    (void)ctx;
    return libusb_get_port_numbers(dev, path, path_length);
}

API int libusb_setlocale(const char *locale) { return locale ? LIBUSB_SUCCESS : LIBUSB_ERROR_INVALID_PARAM; }

API void libusb_set_log_cb(libusb_context *ctx, void (*cb)(libusb_context *, int, const char *), int mode)
{
    (void)ctx; (void)cb; (void)mode;
}

API int libusb_wrap_sys_device(libusb_context *ctx, intptr_t sys_dev, libusb_device_handle **handle)
{
    (void)ctx; (void)sys_dev; (void)handle;
    return LIBUSB_ERROR_NOT_SUPPORTED;
}

API int libusb_alloc_streams(libusb_device_handle *h, uint32_t num_streams, unsigned char *endpoints, int num_endpoints)
{
    (void)h; (void)num_streams; (void)endpoints; (void)num_endpoints;
    return LIBUSB_ERROR_NOT_SUPPORTED;
}

API int libusb_free_streams(libusb_device_handle *h, unsigned char *endpoints, int num_endpoints)
{
    (void)h; (void)endpoints; (void)num_endpoints;
    return LIBUSB_ERROR_NOT_SUPPORTED;
}

API unsigned char *libusb_dev_mem_alloc(libusb_device_handle *h, size_t length) { (void)h; (void)length; return NULL; }

API int libusb_dev_mem_free(libusb_device_handle *h, unsigned char *buffer, size_t length)
{
    (void)h; (void)buffer; (void)length;
    return LIBUSB_ERROR_NOT_SUPPORTED;
}

/* SuperSpeed and USB 2.0 extension descriptors: the simulated bus is USB 2.0 full/high speed without them. */
API int libusb_get_ss_endpoint_companion_descriptor(libusb_context *ctx, const struct libusb_endpoint_descriptor *endpoint, void **ep_comp)
{
    (void)ctx; (void)endpoint; (void)ep_comp;
    return LIBUSB_ERROR_NOT_FOUND;
}

API void libusb_free_ss_endpoint_companion_descriptor(void *ep_comp) { free(ep_comp); }

API int libusb_get_usb_2_0_extension_descriptor(libusb_context *ctx, struct libusb_bos_dev_capability_descriptor *cap, void **ext)
{
    (void)ctx; (void)ext;
    return cap && cap->bDevCapabilityType == 2 ? LIBUSB_ERROR_NOT_SUPPORTED : LIBUSB_ERROR_INVALID_PARAM;
}

API void libusb_free_usb_2_0_extension_descriptor(void *ext) { free(ext); }

API int libusb_get_ss_usb_device_capability_descriptor(libusb_context *ctx, struct libusb_bos_dev_capability_descriptor *cap, void **ss)
{
    (void)ctx; (void)ss;
    return cap && cap->bDevCapabilityType == 3 ? LIBUSB_ERROR_NOT_SUPPORTED : LIBUSB_ERROR_INVALID_PARAM;
}

API void libusb_free_ss_usb_device_capability_descriptor(void *ss) { free(ss); }

/* ---- transfers (libusb 1.0.26 struct libusb_transfer) ---- */

struct libusb_iso_packet_descriptor {
    unsigned int length, actual_length;
    int status;
};

struct libusb_transfer;
typedef void (*libusb_transfer_cb_fn)(struct libusb_transfer *transfer);

struct libusb_transfer {
    libusb_device_handle *dev_handle;
    uint8_t flags;
    unsigned char endpoint, type;
    unsigned int timeout;
    int status;
    int length, actual_length;
    libusb_transfer_cb_fn callback;
    void *user_data;
    unsigned char *buffer;
    int num_iso_packets;
    struct libusb_iso_packet_descriptor iso_packet_desc[];
};

_Static_assert(offsetof(struct libusb_transfer, callback) == 32 && offsetof(struct libusb_transfer, num_iso_packets) == 56
               && offsetof(struct libusb_transfer, iso_packet_desc) == 60, "transfer layout");

enum { TRANSFER_TYPE_CONTROL = 0, TRANSFER_COMPLETED = 0, TRANSFER_ERROR = 1, TRANSFER_TIMED_OUT = 2, TRANSFER_CANCELLED = 3,
       TRANSFER_STALL = 4, TRANSFER_NO_DEVICE = 5, TRANSFER_OVERFLOW = 6,
       TRANSFER_SHORT_NOT_OK = 1, TRANSFER_FREE_BUFFER = 2, TRANSFER_FREE_TRANSFER = 4 };

/* Transfers done at submit whose callbacks wait for the next handle_events. */
static pthread_mutex_t g_done_lock = PTHREAD_MUTEX_INITIALIZER;
static struct done { struct libusb_transfer *transfer; struct done *next; } *g_done_head, *g_done_tail;

API struct libusb_transfer *libusb_alloc_transfer(int iso_packets)
{
    if (iso_packets < 0) return NULL;
    return calloc(1, sizeof(struct libusb_transfer) + (size_t)iso_packets * sizeof(struct libusb_iso_packet_descriptor));
}

API void libusb_free_transfer(struct libusb_transfer *transfer)
{
    if (!transfer) return;
    if ((transfer->flags & TRANSFER_FREE_BUFFER) && transfer->buffer) free(transfer->buffer);
    free(transfer);
}

API int libusb_submit_transfer(struct libusb_transfer *transfer)
{
    if (!transfer || !transfer->dev_handle) return LIBUSB_ERROR_INVALID_PARAM;
    if (transfer->type != TRANSFER_TYPE_CONTROL) return LIBUSB_ERROR_NOT_SUPPORTED;
    if (transfer->length < 8 || !transfer->buffer) return LIBUSB_ERROR_INVALID_PARAM;
    struct done *d = malloc(sizeof *d);
    if (!d) return LIBUSB_ERROR_NO_MEM;
    unsigned char *b = transfer->buffer;
    uint16_t length = get_u16(b + 6);
    if (length > transfer->length - 8) { free(d); return LIBUSB_ERROR_INVALID_PARAM; }
    int r = libusb_control_transfer(transfer->dev_handle, b[0], b[1], get_u16(b + 2), get_u16(b + 4), b + 8, length, transfer->timeout);
    transfer->actual_length = r < 0 ? 0 : r;
    transfer->status = r >= 0 ? ((transfer->flags & TRANSFER_SHORT_NOT_OK) && r < length ? TRANSFER_ERROR : TRANSFER_COMPLETED)
                     : r == LIBUSB_ERROR_TIMEOUT ? TRANSFER_TIMED_OUT : r == LIBUSB_ERROR_PIPE ? TRANSFER_STALL
                     : r == LIBUSB_ERROR_NO_DEVICE ? TRANSFER_NO_DEVICE : r == LIBUSB_ERROR_OVERFLOW ? TRANSFER_OVERFLOW : TRANSFER_ERROR;
    d->transfer = transfer;
    d->next = NULL;
    pthread_mutex_lock(&g_done_lock);
    if (g_done_tail) g_done_tail->next = d; else g_done_head = d;
    g_done_tail = d;
    pthread_mutex_unlock(&g_done_lock);
    return 0;
}

/* Already done at submit: a cancel finds nothing in flight. */
API int libusb_cancel_transfer(struct libusb_transfer *transfer) { (void)transfer; return LIBUSB_ERROR_NOT_FOUND; }

API void libusb_transfer_set_stream_id(struct libusb_transfer *transfer, uint32_t stream_id) { (void)transfer; (void)stream_id; }
API uint32_t libusb_transfer_get_stream_id(struct libusb_transfer *transfer) { (void)transfer; return 0; }

/* Runs the callbacks of every transfer done so far; sets *completed when there were any. */
static int run_completions(int *completed)
{
    for (;;) {
        pthread_mutex_lock(&g_done_lock);
        struct done *d = g_done_head;
        if (d) { g_done_head = d->next; if (!g_done_head) g_done_tail = NULL; }
        pthread_mutex_unlock(&g_done_lock);
        if (!d) return 0;
        struct libusb_transfer *t = d->transfer;
        free(d);
        int free_it = (t->flags & TRANSFER_FREE_TRANSFER) != 0;
        if (t->callback) t->callback(t);
        if (free_it) libusb_free_transfer(t);
        if (completed) *completed = 1;
    }
}

API int libusb_handle_events_timeout_completed(libusb_context *ctx, struct timeval *tv, int *completed)
{
    (void)ctx; (void)tv;
    return run_completions(completed);
}

API int libusb_handle_events_timeout(libusb_context *ctx, struct timeval *tv) { return libusb_handle_events_timeout_completed(ctx, tv, NULL); }
API int libusb_handle_events(libusb_context *ctx) { return libusb_handle_events_timeout_completed(ctx, NULL, NULL); }
API int libusb_handle_events_completed(libusb_context *ctx, int *completed) { return libusb_handle_events_timeout_completed(ctx, NULL, completed); }
API int libusb_handle_events_locked(libusb_context *ctx, struct timeval *tv) { return libusb_handle_events_timeout_completed(ctx, tv, NULL); }

/* One thread handles events at a time in libusb; here there is nothing to wait for, so every lock is free. */
API int libusb_try_lock_events(libusb_context *ctx) { (void)ctx; return 0; }
API void libusb_lock_events(libusb_context *ctx) { (void)ctx; }
API void libusb_unlock_events(libusb_context *ctx) { (void)ctx; }
API int libusb_event_handling_ok(libusb_context *ctx) { (void)ctx; return 1; }
API int libusb_event_handler_active(libusb_context *ctx) { (void)ctx; return 0; }
API void libusb_interrupt_event_handler(libusb_context *ctx) { (void)ctx; }
API void libusb_lock_event_waiters(libusb_context *ctx) { (void)ctx; }
API void libusb_unlock_event_waiters(libusb_context *ctx) { (void)ctx; }
API int libusb_wait_for_event(libusb_context *ctx, struct timeval *tv) { (void)ctx; (void)tv; return 1; /* timed out */ }
API int libusb_get_next_timeout(libusb_context *ctx, struct timeval *tv) { (void)ctx; (void)tv; return 0; /* none pending */ }
API int libusb_pollfds_handle_timeouts(libusb_context *ctx) { (void)ctx; return 1; }

struct libusb_pollfd { int fd; short events; };

/* No file descriptors to poll: an empty, NULL-terminated list. */
API const struct libusb_pollfd **libusb_get_pollfds(libusb_context *ctx)
{
    (void)ctx;
    return calloc(1, sizeof(struct libusb_pollfd *));
}

API void libusb_free_pollfds(const struct libusb_pollfd **pollfds) { free((void *)pollfds); }

API void libusb_set_pollfd_notifiers(libusb_context *ctx, void (*added_cb)(int, short, void *), void (*removed_cb)(int, void *), void *user_data)
{
    (void)ctx; (void)added_cb; (void)removed_cb; (void)user_data;
}

/* ---- hotplug: the simulated bus does not announce arrivals; callers poll libusb_get_device_list ---- */

API int libusb_hotplug_register_callback(libusb_context *ctx, int events, int flags, int vendor_id, int product_id, int dev_class,
                                         void *cb_fn, void *user_data, int *callback_handle)
{
    (void)ctx; (void)events; (void)flags; (void)vendor_id; (void)product_id; (void)dev_class; (void)cb_fn; (void)user_data;
    if (callback_handle) *callback_handle = 0;
    return LIBUSB_ERROR_NOT_SUPPORTED;
}

API void libusb_hotplug_deregister_callback(libusb_context *ctx, int callback_handle) { (void)ctx; (void)callback_handle; }

API void *libusb_hotplug_get_user_data(libusb_context *ctx, int callback_handle) { (void)ctx; (void)callback_handle; return NULL; }

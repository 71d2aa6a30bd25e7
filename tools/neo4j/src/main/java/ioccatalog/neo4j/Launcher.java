package ioccatalog.neo4j;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.SettingValueParsers;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

/**
 * Embedded Neo4j (Community) with Bolt on 127.0.0.1, for ioc-catalog's tests and local use. Not a production server.
 *
 * <pre>
 * java -jar neo4j-launcher.jar [--port 7687] [--data DIR] [--config neo4j.conf]
 * </pre>
 *
 * Environment:
 * <ul>
 *   <li>NEO4J_AUTH: unset or "none" = authentication disabled (default); "user/password" = enabled, that user
 *       gets that password (created when it is not "neo4j"). The password is read from the environment only,
 *       never from the command line, and is never printed.</li>
 *   <li>NEO4J_PAGECACHE (default 512m), NEO4J_TX_MEMORY_MAX (per transaction, default 512m),
 *       NEO4J_TX_MEMORY_GLOBAL (all transactions, default 768m): Neo4j byte sizes such as 256m or 1g.</li>
 * </ul>
 * --config loads a neo4j.conf-style file applied after these defaults (its settings win).
 *
 * Prints exactly one line "READY bolt://127.0.0.1:PORT" on stdout once Bolt accepts connections and the default
 * database is available (and the password, if any, is set). Stops cleanly on SIGTERM/SIGINT via a shutdown hook.
 * Exit status 1 with "FAILED: ..." on a startup error.
 */
public final class Launcher {
    private static final String HOST = "127.0.0.1";

    private Launcher() {
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        int port = 7687;
        Path data = Path.of(".neo4j-data");
        Path config = null;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--port" -> port = Integer.parseInt(value(args, ++i, "--port"));
                    case "--data" -> data = Path.of(value(args, ++i, "--data"));
                    case "--config" -> config = Path.of(value(args, ++i, "--config"));
                    case "-h", "--help" -> {
                        out.println("usage: java -jar neo4j-launcher.jar [--port 7687] [--data DIR] [--config FILE]");
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
                }
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("--port must be 1..65535, got " + port);
            }
        } catch (RuntimeException e) {
            System.err.println("FAILED: " + e.getMessage());
            System.exit(2);
            return;
        }

        String[] auth = parseAuth(System.getenv("NEO4J_AUTH"));
        DatabaseManagementService[] holder = new DatabaseManagementService[1];
        CountDownLatch stopped = new CountDownLatch(1);
        Log4jLogProvider userLog = new Log4jLogProvider(System.out, Level.INFO);
        Thread hook = new Thread(() -> {
            DatabaseManagementService dbms;
            synchronized (holder) {
                dbms = holder[0];
                holder[0] = null;
            }
            if (dbms != null) {
                out.println("STOPPING");
                try {
                    dbms.shutdown();
                } catch (RuntimeException e) {
                    System.err.println("error during shutdown: " + e);
                }
                out.println("STOPPED");
            }
            userLog.close();
            stopped.countDown();
        }, "neo4j-launcher-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        try {
            Path home = data.toAbsolutePath().normalize();
            Files.createDirectories(home);
            DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                    .setUserLogProvider(userLog)
                    .setConfig(BoltConnector.enabled, true)
                    .setConfig(BoltConnector.listen_address, new SocketAddress(HOST, port))
                    .setConfig(BoltConnector.advertised_address, new SocketAddress(HOST, port))
                    .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                    // Bolt waits 5 s + 5 s for clients and its thread pool at shutdown; 1 s each is plenty here.
                    .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                    .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
                    .setConfig(GraphDatabaseSettings.auth_enabled, auth != null)
                    .setConfig(GraphDatabaseSettings.udc_enabled, false)
                    // Memory for a small machine running tests (2 cores, heap -Xmx1g set by neo4j.sh).
                    .setConfig(GraphDatabaseSettings.pagecache_memory, bytes("NEO4J_PAGECACHE", "512m"))
                    .setConfig(GraphDatabaseSettings.memory_transaction_max_size, bytes("NEO4J_TX_MEMORY_MAX", "512m"))
                    .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size,
                            bytes("NEO4J_TX_MEMORY_GLOBAL", "768m"))
                    // Throw-away data: keep transaction logs small.
                    .setConfig(GraphDatabaseSettings.keep_logical_logs, "2 files")
                    .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, 64L * 1024 * 1024);
            if (config != null) {
                builder.loadPropertiesFromFile(config.toAbsolutePath());
            }
            DatabaseManagementService dbms = builder.build();
            synchronized (holder) {
                holder[0] = dbms;
            }
            GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
            if (!db.isAvailable(Duration.ofSeconds(120).toMillis())) {
                throw new IllegalStateException("database 'neo4j' did not become available within 120 s");
            }
            if (auth != null) {
                setPassword(dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME), auth[0], auth[1]);
            }
            out.println("READY bolt://" + HOST + ":" + port + " (auth: " + (auth != null ? auth[0] : "none") + ")");
        } catch (Throwable e) {
            System.err.println("FAILED: " + e);
            e.printStackTrace();
            // The hook shuts down whatever started; exit status 1 tells the script.
            System.exit(1);
            return;
        }
        try {
            stopped.await(); // the DBMS runs on its own threads until SIGTERM/SIGINT runs the hook
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[i];
    }

    private static Long bytes(String env, String dflt) {
        String v = System.getenv(env);
        return SettingValueParsers.BYTES.parse(v == null || v.isBlank() ? dflt : v.trim());
    }

    /** null = auth disabled; else {user, password}. Same shape as the official image's NEO4J_AUTH. */
    static String[] parseAuth(String raw) {
        if (raw == null || raw.isBlank() || raw.trim().equalsIgnoreCase("none")) {
            return null;
        }
        int slash = raw.indexOf('/');
        if (slash <= 0 || slash == raw.length() - 1) {
            System.err.println("FAILED: NEO4J_AUTH must be 'none' or 'user/password'");
            System.exit(2);
        }
        return new String[] {raw.substring(0, slash), raw.substring(slash + 1)};
    }

    private static void setPassword(GraphDatabaseService system, String user, String password) {
        // Idempotent across restarts (ALTER USER refuses an unchanged password); also replaces the default neo4j/neo4j.
        system.executeTransactionally("CREATE OR REPLACE USER $user SET PASSWORD $password CHANGE NOT REQUIRED",
                Map.of("user", user, "password", password));
        if (!"neo4j".equals(user)) {
            // The built-in neo4j/neo4j account would still let anyone set its first password: drop it while unused.
            boolean untouched = system.executeTransactionally(
                    "SHOW USERS YIELD user, passwordChangeRequired WHERE user = 'neo4j' AND passwordChangeRequired "
                            + "RETURN count(*) AS c", Map.of(), r -> ((Number) r.next().get("c")).longValue() > 0);
            if (untouched) {
                system.executeTransactionally("DROP USER neo4j IF EXISTS");
            }
        }
    }
}
